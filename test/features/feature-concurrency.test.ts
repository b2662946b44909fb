import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../../src/core/errors.js';
import type { FeatureService } from '../../src/features/index.js';
import { openPlatformAt } from '../../src/platform/test-support/test-platform.js';
import type { Platform } from '../../src/platform/platform.js';
import { testDatabases, type TestDatabase } from '../../src/storage/test-support/test-databases.js';
import { DEFINITIONS, txnCsv, writeFile } from './feature-fixtures.js';

const PROCESSES = 3;
const BATCHES = 4;

/** A batch of one writer: 5 customers of its own on the same two event dates as every other writer. */
function batch(writer: number, n: number): string {
  const rows: Array<[string, string, number, number]> = [];
  for (let c = 0; c < 5; c++) {
    rows.push([`w${writer}-b${n}-c${c}`, '2024-03-01T10:00:00Z', writer * 100 + n, c]);
    rows.push([`w${writer}-b${n}-c${c}`, '2024-03-02T10:00:00Z', writer * 100 + n + 0.5, c]);
  }
  return txnCsv(rows);
}

for (const factory of await testDatabases()) {
  describe(`feature store across processes sharing one ${factory.name} database and artifact store`, { skip: factory.skip }, () => {
    let tdb: TestDatabase;
    let shared: string;
    const platforms: Platform[] = [];
    const services: FeatureService[] = [];
    before(async () => {
      tdb = await factory.create();
      shared = mkdtempSync(path.join(os.tmpdir(), 'capstan-feat-mp-'));
      for (let p = 0; p < PROCESSES; p++) {
        // Each platform has its own home (scratch, DuckDB temp) and the same database and artifacts: two processes' view.
        const home = path.join(shared, `home-${p}`);
        const platform = await openPlatformAt(home, { databaseUrl: tdb.url, artifacts: `file://${path.join(shared, 'artifacts')}`, 'features.materializeIntervalMs': 0 });
        platforms.push(platform);
        services.push(platform.context<FeatureService>('features'));
      }
      await services[0].apply(DEFINITIONS);
    });
    after(async () => {
      for (const p of platforms) await p.close();
      await tdb?.dispose();
      if (shared) rmSync(shared, { recursive: true, force: true });
    });

    it('keeps every batch when several platforms ingest into the same date partitions at once', async () => {
      const files = services.map((_, w) => Array.from({ length: BATCHES }, (_, n) => writeFile(shared, `w${w}-b${n}.csv`, batch(w, n))));
      const results = await Promise.all(services.map(async (features, w) => {
        const out = [];
        for (const file of files[w]) out.push(await features.ingest('txn', { path: file }));
        return out;
      }));
      assert.equal(results.flat().reduce((n, r) => n + r.rowsWritten, 0), PROCESSES * BATCHES * 10);

      const entities = ['customer_id,event_timestamp'];
      for (let w = 0; w < PROCESSES; w++) for (let n = 0; n < BATCHES; n++) for (let c = 0; c < 5; c++) entities.push(`w${w}-b${n}-c${c},2024-03-02T10:30:00Z`);
      const set = await services[1].trainingSet({ entities: { path: writeFile(shared, 'entities.csv', entities.join('\n')) }, features: ['txn:amount_sum'], out: { uri: platforms[1].artifacts.uriFor('training/all.csv') } });
      assert.equal(set.rows, PROCESSES * BATCHES * 5);
      assert.equal(set.features[0].nulls, 0, 'a customer of some batch has no value: a concurrent ingestion overwrote its partition');
    });

    it('materializes what another process ingested, once, and the sweep finds nothing left to do', async () => {
      const m = await services[2].materialize('txn');
      assert.equal(m.rowsRead, PROCESSES * BATCHES * 5);
      // The SQLite online store lives in each home; the platform that materialized reads it.
      const read = await services[2].readOnline({ features: ['txn:txn_count'], entities: [{ customer_id: 'w2-b3-c4' }], at: '2024-03-02T10:30:00Z' });
      assert.deepEqual(read.results[0].values['txn:txn_count'], { value: 4, status: 'PRESENT', eventTime: '2024-03-02T10:00:00.000Z' });
      const again = await services[1].materialize('txn');
      assert.equal(again.rowsRead, 0);
    });

    it('waits for a lease another process holds, and refuses with CAPSTAN_FEATURES_BUSY once the wait runs out', async () => {
      const impatient = await openPlatformAt(path.join(shared, 'home-impatient'), { databaseUrl: tdb.url, artifacts: `file://${path.join(shared, 'artifacts')}`, 'features.lockWaitMs': 300, 'features.materializeIntervalMs': 0 });
      try {
        const file = writeFile(shared, 'slow.csv', batch(9, 9));
        // Another process (a holder this test invents) holds the group version's lease and is not done.
        await platforms[0].db.kysely.insertInto('feature_leases').values({ lease_key: 'txn@1', holder: 'another-process', expires_at: Date.now() + 60_000 }).execute();
        const before = await services[0].trainingSet({ entities: { path: writeFile(shared, 'e9.csv', 'customer_id,event_timestamp\nw9-b9-c0,2024-03-02T10:30:00Z\n') }, features: ['txn:amount_sum'], out: { uri: platforms[0].artifacts.uriFor('training/e9.csv') } });
        await assert.rejects(impatient.context<FeatureService>('features').ingest('txn', { path: file }), (err: unknown) => {
          assert.ok(isCapstanError(err));
          assert.equal(err.code, 'CAPSTAN_FEATURES_BUSY');
          assert.match(err.message, /still running after 300 ms/);
          return true;
        });
        const afterSet = await services[0].trainingSet({ entities: { path: path.join(shared, 'e9.csv') }, features: ['txn:amount_sum'], out: { uri: platforms[0].artifacts.uriFor('training/e9b.csv') } });
        assert.equal(afterSet.digest, before.digest, 'the refused ingestion changed the offline store');
      } finally {
        await platforms[0].db.kysely.deleteFrom('feature_leases').execute();
        await impatient.close();
      }
    });
  });
}
