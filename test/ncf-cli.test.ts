import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthesize } from '../src/algorithms/ncf/synth.js';
import { runCapstan } from './support/capstan-cli.js';

const capstan = (args: string[], cwd: string) => runCapstan(args, { cwd });

const FAST = ['--hp', 'epochs=2', '--hp', 'factor_num=8', '--hp', 'test_negatives=50'];

describe('capstan ncf', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ncf-cli-'));
    const data = synthesize({ users: 60, items: 150, interactions: 1500, seed: 12 });
    const rows = (sep: string) => Array.from(data.user, (u, r) => [u + 1, data.item[r] + 1, data.rating[r], data.timestamp[r]].join(sep)).join('\n');
    writeFileSync(path.join(dir, 'u.data'), `${rows('\t')}\n`);
    writeFileSync(path.join(dir, 'ratings.dat'), `${rows('::')}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('synth writes a generic CSV that train reads, producing the package and metrics.json', async () => {
    const synth = await capstan(['ncf', 'synth', '--users', '60', '--items', '150', '--interactions', '1500', '--out', 'synth.csv', '--json'], dir);
    assert.equal(synth.code, 0, synth.stderr);
    assert.deepEqual(JSON.parse(synth.stdout), { file: 'synth.csv', rows: 1500, format: 'csv' });
    const train = await capstan(['ncf', 'train', '--ratings', 'synth.csv', '--format', 'csv', '--out', 'run-csv', ...FAST], dir);
    assert.equal(train.code, 0, train.stderr);
    assert.match(train.stdout, /^Epoch=1; HR=\d\.\d{4}; NDCG=\d\.\d{4}; Loss=\d+\.\d{4};$/m);
    assert.match(train.stdout, /^ItemPop baseline: hr@10=/m);
    const metrics = JSON.parse(readFileSync(path.join(dir, 'run-csv', 'metrics.json'), 'utf8'));
    assert.deepEqual(Object.keys(metrics), ['hr@10', 'ndcg@10', 'loss', 'itempop_hr@10', 'itempop_ndcg@10', 'best_epoch', 'epochs', 'train_samples_per_s']);
    assert.equal(metrics.epochs, 2);
    for (const f of ['model.json', 'model.onnx', 'user-ids.json', 'item-ids.json', 'user-items.json', 'item-popularity.json']) {
      assert.ok(existsSync(path.join(dir, 'run-csv', 'model', f)), `model/${f}`);
    }
  });

  it('trains on a MovieLens u.data TSV and on a ratings.dat with ::, the format taken from the file name', async () => {
    for (const [file, format] of [
      ['u.data', 'ml-100k'],
      ['ratings.dat', 'ml-1m'],
    ]) {
      const run = await capstan(['ncf', 'train', '--ratings', file, '--out', `run-${format}`, ...FAST, '--json'], dir);
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout);
      assert.equal(result.numUsers, 60);
      assert.equal(result.metrics.epochs, 2);
      assert.match(run.stderr, /^Epoch=2; HR=/m, 'with --json the epoch lines go to stderr');
      const userIds = JSON.parse(readFileSync(path.join(dir, `run-${format}`, 'model', 'user-ids.json'), 'utf8'));
      assert.equal(typeof userIds[0], 'number');
    }
  });

  it('answers bad input with a clear error and code, writing nothing', async () => {
    writeFileSync(path.join(dir, 'empty.csv'), '');
    const empty = await capstan(['ncf', 'train', '--ratings', 'empty.csv', '--out', 'run-empty'], dir);
    assert.equal(empty.code, 1);
    assert.equal(empty.stderr.trim(), 'error: the ratings file is empty (CAPSTAN_NCF_FILE_EMPTY)');
    assert.ok(!existsSync(path.join(dir, 'run-empty')));

    const format = await capstan(['ncf', 'train', '--ratings', 'u.data', '--format', 'ml-25m', '--out', 'run-bad', '--json'], dir);
    assert.equal(format.code, 1);
    assert.equal(JSON.parse(format.stdout).code, 'CAPSTAN_NCF_FORMAT_UNKNOWN');

    const ids = await capstan(['ncf', 'train', '--ratings', 'synth.csv', '--format', 'ml-100k', '--out', 'run-bad'], dir);
    assert.equal(ids.code, 1);
    assert.match(ids.stderr, /CAPSTAN_NCF_ROW_INVALID|CAPSTAN_NCF_ID_NOT_NUMERIC/);

    const negatives = await capstan(['ncf', 'train', '--ratings', 'u.data', '--out', 'run-bad', '--hp', 'test_negatives=500'], dir);
    assert.equal(negatives.code, 1);
    assert.match(negatives.stderr, /500 test negatives per user were requested but there are only \d+ items \(CAPSTAN_NCF_TOO_FEW_ITEMS\)/);

    const hp = await capstan(['ncf', 'train', '--ratings', 'u.data', '--out', 'run-bad', '--hp', 'epochs=zero'], dir);
    assert.equal(hp.code, 1);
    assert.match(hp.stderr, /epochs must be an integer.*CAPSTAN_NCF_HYPERPARAMETER_INVALID/);
    assert.ok(!existsSync(path.join(dir, 'run-bad')));
  });
});
