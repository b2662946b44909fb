import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { openTestPlatform, type TestPlatform } from '../../src/platform/test-support/test-platform.js';
import type { FeatureService } from '../../src/features/index.js';
import { isCapstanError } from '../../src/core/errors.js';
import { DEFINITIONS, txnCsv, writeFile } from './feature-fixtures.js';

async function readParquet(path: string): Promise<Record<string, unknown>[]> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    return (await conn.runAndReadAll(`SELECT * FROM read_parquet('${path}')`)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

describe('feature store: definitions, ingestion, point-in-time training sets', () => {
  let tp: TestPlatform;
  let features: FeatureService;
  before(async () => {
    tp = await openTestPlatform();
    features = tp.platform.context<FeatureService>('features');
  });
  after(() => tp.dispose());

  it('applies definitions, then reports them unchanged', async () => {
    const first = await features.apply(DEFINITIONS);
    assert.deepEqual(first.featureGroups, [{ name: 'txn', version: 1, action: 'created' }]);
    const again = await features.apply(DEFINITIONS);
    assert.deepEqual(again.featureGroups, [{ name: 'txn', version: 1, action: 'unchanged' }]);
    const g = await features.getGroup('txn');
    assert.deepEqual(g.joinKeys, [{ name: 'customer_id', type: 'string' }]);
    assert.equal(g.ttlMs, 3_600_000);
  });

  it('ingests a CSV idempotently and builds a point-in-time set with TTL and duplicates kept', async () => {
    const file = writeFile(tp.home, 'txn.csv', txnCsv([
      ['c1', '2024-01-01T10:00:00Z', 10.5, 1],
      ['c1', '2024-01-01T12:00:00Z', 30, 3],
      ['c2', '2024-01-02T09:00:00Z', 5, 1],
    ]));
    const r1 = await features.ingest('txn', { path: file });
    assert.equal(r1.rowsWritten, 3);
    assert.deepEqual(r1.partitions, ['2024-01-01', '2024-01-02']);
    const r2 = await features.ingest('txn', { path: file });
    assert.equal(r2.rowsWritten, 0);
    assert.equal(r2.rowsUnchanged, 3);

    const entities = writeFile(tp.home, 'entities.csv', [
      'customer_id,event_timestamp',
      'c1,2024-01-01T11:00:00Z', // 10:00 value, 1 h old: present
      'c1,2024-01-01T12:30:00Z', // 12:00 value
      'c1,2024-01-01T09:00:00Z', // before any value
      'c1,2024-01-01T14:00:01Z', // 12:00 value is 2 h old: expired
      'c2,2024-01-02T09:30:00Z',
      'c2,2024-01-02T09:30:00Z', // duplicate row kept
      'c3,2024-01-02T09:30:00Z', // unknown entity
    ].join('\n'));
    const out = tp.platform.artifacts.uriFor('training/set1.parquet');
    const res = await features.trainingSet({ entities: { path: entities }, features: ['txn:amount_sum', 'txn:txn_count'], out: { uri: out } });
    assert.equal(res.rows, 7);
    assert.match(res.digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(res.features.map((f) => [f.feature, f.column, f.nulls, f.expired]), [
      ['txn:amount_sum', 'amount_sum', 3, 1],
      ['txn:txn_count', 'txn_count', 3, 1],
    ]);
    const rows = await readParquet(tp.platform.artifacts.uriFor(res.key).slice('file://'.length));
    assert.deepEqual(rows.map((r) => [r.customer_id, r.amount_sum, r.txn_count]), [
      ['c1', 10.5, '1'],
      ['c1', 30, '3'],
      ['c1', null, null],
      ['c1', null, null],
      ['c2', 5, '1'],
      ['c2', 5, '1'],
      ['c3', null, null],
    ]);
  });

  it('refuses an incompatible schema change unless it is a new version', async () => {
    const changed = structuredClone(DEFINITIONS);
    changed.featureGroups![0].features[1].type = 'float64';
    await assert.rejects(features.apply(changed), (err) => isCapstanError(err, 'CAPSTAN_FEATURES_SCHEMA_INCOMPATIBLE') && /txn_count changes type from int64 to float64/.test(err.message));
    assert.equal((await features.getGroup('txn')).features[1].type, 'int64');
    changed.featureGroups![0].version = 2;
    const res = await features.apply(changed);
    assert.deepEqual(res.featureGroups, [{ name: 'txn', version: 2, action: 'created' }]);
    assert.equal((await features.getGroup('txn', 1)).features[1].type, 'int64');
  });
});
