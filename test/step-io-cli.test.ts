import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FileArtifactStore } from '../src/storage/artifacts/file-artifact-store.js';
import { runCapstan } from './support/capstan-cli.js';

// `capstan step-io download|upload` as the init and finishing containers of a Kubernetes step run it.
describe('capstan step-io', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-step-io-'));
  after(() => rmSync(home, { recursive: true, force: true }));

  it('downloads inputs and hyperparameters, then uploads the outputs after the step wrote exit code 0', async () => {
    const store = await FileArtifactStore.open(path.join(home, 'artifacts'));
    await store.put('datasets/d/rows.csv', 'a\n1\n');
    const dir = path.join(home, 'pod');
    const spec = { codePrefix: null, inputs: { data: 'datasets/d/' }, outputs: ['out'], modelOutput: false, outputPrefix: 'runs/x/attempt-1/', hyperparameters: { lr: 0.1 } };
    const env = { CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'error', CAPSTAN_STEP_IO: JSON.stringify(spec) };
    const down = await runCapstan(['step-io', 'download', '--dir', dir], { env });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(readFileSync(path.join(dir, 'input', 'data', 'rows.csv'), 'utf8'), 'a\n1\n');
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'hyperparameters.json'), 'utf8')), { lr: 0.1 });
    mkdirSync(path.join(dir, 'output', 'out'), { recursive: true });
    writeFileSync(path.join(dir, 'output', 'out', 'r.txt'), 'result');
    writeFileSync(path.join(dir, '.exit'), '0\n');
    const up = await runCapstan(['step-io', 'upload', '--dir', dir], { env });
    assert.equal(up.code, 0, up.stderr);
    assert.equal((await store.get('runs/x/attempt-1/out/r.txt')).toString(), 'result');
  });

  it('refuses to run without CAPSTAN_STEP_IO, saying so', async () => {
    const run = await runCapstan(['step-io', 'download', '--dir', path.join(home, 'x')], { env: { CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'error' } });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /CAPSTAN_K8S_STEP_IO_INVALID|CAPSTAN_STEP_IO is not set/);
  });
});
