import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runningInCi } from '../src/core/config.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { cliJson, runCapstan } from './support/capstan-cli.js';

// The Python client (clients/python), installed with pip into a fresh virtual environment (offline:
// its build backend needs only the standard library), runs its unittest suite against a live server.
const root = fileURLToPath(new URL('..', import.meta.url));
const CLIENT = path.join(root, 'clients', 'python');

function python(args: string[], env: Record<string, string> = {}, cwd = root) {
  return spawnSync(args[0], args.slice(1), { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, encoding: 'utf8' });
}

/** Runs a process without blocking the event loop (the server under test answers in this process). */
function pythonAsync(args: string[], env: Record<string, string>, cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0], args.slice(1), { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const venvProblem = (() => {
  const r = python(['python3', '-c', 'import venv, ensurepip']);
  return r.status === 0 ? undefined : `python3 cannot make a virtual environment: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`;
})();
if (venvProblem && runningInCi()) throw new Error(`CI=true and ${venvProblem}: the Python client test must run in CI`);

describe('Python client (clients/python): pip install, then python3 -m unittest against a live server', { skip: venvProblem }, () => {
  let server: TestServer;
  let scratch: string;
  let venvPython: string;
  let env: Record<string, string>;

  before(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'capstan-pyclient-'));
    const venv = path.join(scratch, 'venv');
    const made = python(['python3', '-m', 'venv', venv]);
    assert.equal(made.status, 0, made.stderr);
    venvPython = path.join(venv, 'bin', 'python');
    const installed = python([venvPython, '-m', 'pip', 'install', '--no-index', '--disable-pip-version-check', CLIENT]);
    assert.equal(installed.status, 0, `pip install ./clients/python failed offline:\n${installed.stdout}\n${installed.stderr}`);
    assert.match(installed.stdout, /Successfully installed capstan-client-0\.1\.0/);
    server = await startTestServer({ 'server.auth': true });
    const admin = (await server.platform.apiKeys.create('py-admin', 'admin')).key;
    const viewer = (await server.platform.apiKeys.create('py-viewer', 'viewer')).key;
    env = { CAPSTAN_URL: server.url, CAPSTAN_API_KEY: admin, CAPSTAN_TEST_VIEWER_KEY: viewer };
  });
  after(async () => {
    await server?.dispose();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('the installed package passes its unittest suite (tracking, registry, invocation, errors)', async () => {
    // Run from the scratch directory so `import capstan` finds the installed package, not the source tree.
    const r = await pythonAsync([venvPython, '-m', 'unittest', 'discover', '-s', path.join(CLIENT, 'tests'), '-t', path.join(CLIENT, 'tests'), '-v'], env, scratch);
    const summary = r.stderr.trim().split('\n').slice(-3).join('\n');
    console.log(`python3 -m unittest: ${summary.replace(/\n+/g, ' | ')}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^Ran (\d+) tests? in /m);
    assert.match(r.stderr, /\nOK\s*$/);
    assert.doesNotMatch(r.stderr, /skipped/, 'no test was skipped: the server was reachable');
    assert.equal(Number(/^Ran (\d+) tests?/m.exec(r.stderr)![1]), 10);
  });

  it('inside a pipeline step the client attaches to the step\'s run and its params, metrics and tags land there', async () => {
    const home = path.join(scratch, 'home');
    const code = path.join(scratch, 'code');
    mkdirSync(code, { recursive: true });
    writeFileSync(path.join(code, 'train.py'), [
      'import capstan',
      'with capstan.start_run("ignored-inside-a-step") as run:',
      '    assert run.attached, run',
      '    capstan.log_param("optimizer", "adam")',
      '    for epoch in range(3):',
      '        capstan.log_metric("loss", 1.0 / (epoch + 1), step=epoch)',
      '    capstan.set_tag("logged-by", "python-client")',
      'print("trained")',
      '',
    ].join('\n'));
    writeFileSync(path.join(code, 'pipeline.yaml'), [
      'name: client-in-step',
      'code: .',
      'steps:',
      '  - name: train',
      '    type: processing',
      '    command: [python3, train.py]',
      '    hyperparameters: { epochs: 3 }',
      `    env: { PYTHONPATH: ${JSON.stringify(CLIENT)} }`,
      '',
    ].join('\n'));
    const capstan = (args: string[]) => runCapstan(args, { cwd: code, env: { CAPSTAN_HOME: home } });
    const exec = cliJson(await capstan(['pipeline', 'run', '-f', 'pipeline.yaml', '--wait', '--json']));
    assert.equal(exec.state, 'succeeded', exec.error);
    const runId = exec.steps[0].properties._capstan.runId;
    const run = cliJson(await capstan(['runs', 'show', runId, '--json']));
    assert.deepEqual(run.params, { epochs: '3', optimizer: 'adam' });
    assert.equal(run.tags['logged-by'], 'python-client');
    assert.equal(run.status, 'finished', 'the step, not the client, ended the run');
    const curve = cliJson(await capstan(['runs', 'metric', runId, 'loss', '--json']));
    assert.deepEqual(curve.map((p: { step: number; value: number }) => [p.step, Math.round(p.value * 1000) / 1000]), [[0, 1], [1, 0.5], [2, 0.333]]);
  });
});
