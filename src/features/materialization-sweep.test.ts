import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../core/logger.js';
import { JobQueue, type QueueSettings } from '../storage/queue/job-queue.js';
import { testDatabases, type TestDatabase } from '../storage/test-support/test-databases.js';
import { MATERIALIZE_JOB_TYPE } from './local-feature-service.js';
import { MaterializationSweep } from './materialization-sweep.js';
import { SqlDefinitionStore } from './sql-definition-store.js';

const settings: QueueSettings = { leaseMs: 10_000, heartbeatMs: 500, maxAttempts: 3, backoffBaseMs: 1, backoffMaxMs: 5, pollMs: 10, concurrency: 1 };

for (const factory of await testDatabases()) {
  describe(`materialization sweep (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestDatabase;
    let store: SqlDefinitionStore;
    let queue: JobQueue;
    let sweep: MaterializationSweep;
    const jobs = async () => (await t.db.kysely.selectFrom('jobs').select(['type', 'payload']).where('type', '=', MATERIALIZE_JOB_TYPE).execute()).map((r) => JSON.parse(String(r.payload)));
    before(async () => {
      t = await factory.create();
      store = new SqlDefinitionStore(t.db);
      queue = new JobQueue(t.db, settings);
      sweep = new MaterializationSweep(store, queue, 0, silentLogger());
    });
    after(() => t?.dispose());

    it('enqueues one materialization for an ingestion whose job was never enqueued, and none on the next sweeps', async () => {
      await store.markIngested('txn', 1, 1_000);
      assert.equal(await sweep.sweep(), 1);
      assert.equal(await sweep.sweep(), 1, 'still pending until a materialization moves the watermark');
      assert.deepEqual(await jobs(), [{ group: 'txn', version: 1 }]);
    });

    it('sees nothing pending once the watermark reaches the newest ingestion, and again after a newer one', async () => {
      await store.putMaterialization('txn', 1, { watermarkMs: 1_000, newestEventMs: 900, rowsWritten: 3, materializedAt: 1_100 });
      assert.equal(await sweep.sweep(), 0);
      await store.markIngested('txn', 1, 500);
      assert.equal(await sweep.sweep(), 0, 'an older mark never moves the newest ingestion back');
      await store.markIngested('txn', 1, 2_000);
      assert.equal(await sweep.sweep(), 1);
      assert.equal((await jobs()).length, 2);
    });
  });
}
