import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FeatureService } from '../../src/features/index.js';
import { openTestPlatform, type TestPlatform } from '../../src/platform/test-support/test-platform.js';
import { startS3TestServer, type S3TestServer } from '../../src/storage/test-support/s3-test-server.js';
import { testDatabases, type TestDatabase } from '../../src/storage/test-support/test-databases.js';
import { DEFINITIONS } from './feature-fixtures.js';

/** Writes rows to a local Parquet file with DuckDB. */
async function parquet(file: string, select: string): Promise<void> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  await conn.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  conn.closeSync();
  inst.closeSync();
}

const pg = (await testDatabases()).find((f) => f.name === 'postgres')!;

describe('feature store on PostgreSQL and S3 (s3rver): offline Parquet staged through the artifact store', { skip: pg.skip }, () => {
  let s3: S3TestServer;
  let tdb: TestDatabase;
  let tp: TestPlatform;
  let features: FeatureService;
  let bucket: string;
  before(async () => {
    s3 = await startS3TestServer();
    bucket = await s3.createBucket();
    tdb = await pg.create();
    tp = await openTestPlatform({
      databaseUrl: tdb.url,
      artifacts: `s3://${bucket}/capstan`,
      's3.endpoint': s3.s3.endpoint,
      's3.region': s3.s3.region,
      's3.forcePathStyle': true,
      's3.accessKeyId': s3.s3.accessKeyId,
      's3.secretAccessKey': s3.s3.secretAccessKey,
    });
    features = tp.platform.context<FeatureService>('features');
  });
  after(async () => {
    await tp?.dispose();
    await tdb?.dispose();
    await s3?.dispose();
  });

  it('ingests Parquet from s3://, idempotently, and builds a training set into s3:// with its digest', async () => {
    await features.apply(DEFINITIONS);
    const local = path.join(tp.home, 'txn.parquet');
    await parquet(local, `SELECT * FROM (VALUES ('c1', TIMESTAMP '2024-05-01 10:00:00', 2.5, 1::BIGINT), ('c1', TIMESTAMP '2024-05-02 10:00:00', 7.0, 3::BIGINT), ('c2', TIMESTAMP '2024-05-01 08:00:00', 1.0, 1::BIGINT)) t(customer_id, event_time, amount_sum, txn_count)`);
    const info = await tp.platform.artifacts.put('data/txn.parquet', readFileSync(local));
    const uri = tp.platform.artifacts.uriFor(info.key);
    assert.match(uri, /^s3:\/\//);
    const first = await features.ingest('txn', { uri });
    assert.deepEqual([first.rowsWritten, first.partitions], [3, ['2024-05-01', '2024-05-02']]);
    assert.equal((await features.ingest('txn', { uri })).rowsWritten, 0);
    const keys = (await tp.platform.artifacts.list('features/offline/txn/v1/')).map((a) => a.key);
    assert.deepEqual(keys, ['features/offline/txn/v1/event_date=2024-05-01/data.parquet', 'features/offline/txn/v1/event_date=2024-05-02/data.parquet']);

    await tp.platform.artifacts.put('data/entities.csv', 'customer_id,event_timestamp\nc1,2024-05-01T10:30:00Z\nc1,2024-05-02T10:30:00Z\nc2,2024-05-01T10:30:00Z\n');
    const set = await features.trainingSet({ entities: { key: 'data/entities.csv' }, features: ['txn:amount_sum', 'txn:txn_count'], out: { uri: `s3://${bucket}/capstan/training/set.csv` } });
    const stored = await tp.platform.artifacts.stat(set.key);
    assert.equal(set.digest, `sha256:${stored!.sha256}`);
    assert.equal((await tp.platform.artifacts.get(set.key)).toString(), 'customer_id,event_timestamp,amount_sum,txn_count\nc1,2024-05-01T10:30:00Z,2.5,1\nc1,2024-05-02T10:30:00Z,7.0,3\nc2,2024-05-01T10:30:00Z,,\n');
    assert.deepEqual(set.features.map((f) => f.expired), [1, 1]);
  });

  it('materializes from S3 and serves online; a second run writes nothing', async () => {
    const first = await features.materialize('txn');
    assert.deepEqual([first.rowsRead, first.rowsWritten, first.newestEventTime], [2, 2, '2024-05-02T10:00:00.000Z']);
    const again = await features.materialize('txn');
    assert.deepEqual([again.rowsRead, again.rowsWritten], [0, 0]);
    const online = await features.readOnline({ features: ['txn:txn_count'], entities: [{ customer_id: 'c1' }], at: '2024-05-02T10:59:00Z' });
    assert.deepEqual(online.results[0].values['txn:txn_count'], { value: 3, status: 'PRESENT', eventTime: '2024-05-02T10:00:00.000Z' });
  });
});
