import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { cliJson, cliProblem, runCapstan } from './support/capstan-cli.js';
import { pythonWith } from './support/python-interpreter.js';

const root = fileURLToPath(new URL('..', import.meta.url));

// The pipeline commands against a running server: the definition and its code directory travel to
// the server, its scheduler runs the steps, and the CLI follows the execution, its logs and search.
describe('capstan pipeline and logs through a server (--url)', () => {
  let home: string;
  let server: TestServer;
  const capstan = (...args: string[]) => runCapstan(['--url', server.url, ...args], { cwd: root, env: { CAPSTAN_LOG_LEVEL: 'silent' } });

  before(async () => {
    server = await startTestServer({}, { background: true });
    home = server.home;
  });
  after(() => server?.dispose());

  it('runs the fraud example on the server and waits for it, with steps, metrics and the registered version', async () => {
    const exec = cliJson(await capstan('pipeline', 'run', '-f', 'examples/fraud-python/config.yaml', '--param', 'rows=3000', '--param', 'epochs=60', '--param', `python=${pythonWith(['numpy', 'sklearn']) ?? 'python3'}`, '--wait', '--json'));
    assert.equal(exec.state, 'succeeded', JSON.stringify(exec.steps.map((s: { name: string; state: string; error?: unknown }) => [s.name, s.state, s.error])));
    const evaluate = exec.steps.find((s: { name: string }) => s.name === 'evaluate');
    assert.ok(evaluate.metrics.auc >= 0.8, `auc ${evaluate.metrics.auc}`);
    const version = cliJson(await capstan('models', 'show', 'fraud-detector/1', '--json'));
    assert.equal(version.lineage.pipelineExecutionId, exec.id);

    const logs = await capstan('logs', exec.id, '--step', 'train');
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /loss=[0-9.]+;/);
    const byName = await capstan('logs', 'fraud-python', '--step', 'train');
    assert.equal(byName.code, 0, byName.stderr);
    assert.equal(byName.stdout, logs.stdout, 'a pipeline name means its newest execution');
    const found = cliJson(await capstan('logs', 'search', 'train_auc=', '--pipeline', 'fraud-python', '--json'));
    assert.ok(found.lines.length >= 1);
    assert.ok(found.lines.every((l: { line: string; executionId: string }) => l.line.includes('train_auc=') && l.executionId === exec.id));
  });

  it('logs <pipeline>: unknown pipeline and no execution yet fail with their codes; --follow exits 1 for a failed execution', async () => {
    assert.equal(cliProblem(await capstan('logs', 'no-such-pipeline', '--json')).code, 'CAPSTAN_PIPELINE_NOT_FOUND');
    const file = path.join(home, 'failing.yaml');
    writeFileSync(file, 'name: failing\nsteps:\n  - { name: a, type: processing, cache: false, command: [sh, -c, "echo about to fail; exit 3"] }\n');
    cliJson(await capstan('pipeline', 'apply', '-f', file, '--json'));
    assert.equal(cliProblem(await capstan('logs', 'failing', '--json')).code, 'CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND');
    assert.equal((await capstan('pipeline', 'run', 'failing', '--wait')).code, 1);
    const followed = await capstan('logs', 'failing', '--follow');
    assert.equal(followed.code, 1, followed.stderr);
    assert.match(followed.stdout, /about to fail/);
    assert.match(followed.stderr, /^execution exe_\w+ failed$/m);
  });

  it('refuses an invalid definition with the file, line and path, and stores nothing', async () => {
    const file = path.join(home, 'cycle.yaml');
    writeFileSync(file, 'name: cyclic\nsteps:\n  - { name: a, type: processing, command: "true", depends_on: [b] }\n  - { name: b, type: processing, command: "true", depends_on: [a] }\n');
    const bad = cliProblem(await capstan('pipeline', 'apply', '-f', file, '--json'));
    assert.equal(bad.code, 'CAPSTAN_PIPELINE_INVALID');
    const { pipelines } = cliJson(await capstan('pipeline', 'list', '--json'));
    assert.deepEqual(pipelines.map((p: { name: string }) => p.name).sort(), ['failing', 'fraud-python']);
  });
});
