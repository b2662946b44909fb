import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runningInCi } from '../src/core/config.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { runCapstan, type CliRun } from './support/capstan-cli.js';
import { pythonProblem, pythonWith } from './support/python-interpreter.js';

// The shipped PyTorch example, trained, registered and served through the CLI as its config.yaml says.
const root = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = 'examples/torch-python/config.yaml';
const PYTHON = pythonWith(['torch']);
const problem = PYTHON ? undefined : pythonProblem(['torch'], 'python3-torch');
if (problem && runningInCi()) throw new Error(`CI=true and ${problem}: the torch-python example test must run in CI`);

function json(run: CliRun, expectedCode = 0): any {
  assert.equal(run.code, expectedCode, `exit ${run.code}; stderr: ${run.stderr}; stdout: ${run.stdout.slice(0, 2000)}`);
  return JSON.parse(run.stdout);
}

for (const factory of await testDatabases()) {
  describe(`capstan pipeline run -f ${CONFIG}, then serve it (${factory.name})`, { skip: factory.skip ?? problem }, () => {
    let home: string;
    let database: TestDatabase | undefined;
    const env: Record<string, string> = {};
    const capstan = (args: string[]) => runCapstan(args, { cwd: root, env });

    before(async () => {
      home = mkdtempSync(path.join(os.tmpdir(), 'capstan-torch-'));
      env.CAPSTAN_HOME = home;
      if (factory.name === 'postgres') {
        database = await factory.create();
        env.CAPSTAN_DATABASE_URL = database.url;
      }
    });
    after(async () => {
      await database?.dispose();
      if (home) rmSync(home, { recursive: true, force: true });
    });

    it('trains the network, registers ring-classifier v1 and serves it through inference.py', async () => {
      const run = json(await capstan(['pipeline', 'run', '-f', CONFIG, '--param', 'epochs=150', '--param', `python=${PYTHON}`, '--wait', '--json']));
      assert.equal(run.state, 'succeeded', run.error);
      const train = run.steps.find((s: { name: string }) => s.name === 'train');
      assert.ok(train.metrics.accuracy > 0.9, `held-out accuracy ${train.metrics.accuracy}`);
      const version = json(await capstan(['models', 'show', 'ring-classifier/1', '--json']));
      assert.equal(version.framework, 'python');

      const ep = json(await capstan(['endpoints', 'create', 'ring', '--model', 'models:/ring-classifier/1', '--interpreter', PYTHON!, '--json']));
      assert.equal(ep.status, 'InService', ep.statusReason);
      const answer = json(await capstan(['endpoints', 'invoke', 'ring', '--body', '{"points": [[0, 0], [1.5, 0], [0, -1.5], [2.9, 2.9]]}', '--json']));
      const p = answer.body.probability as number[];
      assert.equal(p.length, 4);
      assert.deepEqual(p.map((v) => v >= 0.5), [false, true, true, false], `on the ring or not: ${p}`);
      const bad = await capstan(['endpoints', 'invoke', 'ring', '--body', '{"points": [1, 2, 3]}', '--json']);
      assert.equal(bad.code, 1);
      const refused = JSON.parse(bad.stdout || bad.stderr);
      assert.deepEqual([refused.status, refused.code, refused.detail], [400, 'CAPSTAN_SERVING_INVALID_INPUT', 'points must be a list of [x, y] pairs']);
    });
  });
}
