import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabases } from './test-support/test-databases.js';
import { migrationStatus, migrateToLatest } from './migrator.js';
import type { TestDatabase } from './test-support/test-databases.js';

for (const factory of await testDatabases()) {
  describe(`metadata database contract (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestDatabase;
    before(async () => { t = await factory.create(); });
    after(async () => { await t?.dispose(); });

    it('applies every migration on open and reports none pending', async () => {
      const status = await migrationStatus(t.db);
      assert.ok(status.length >= 1);
      assert.ok(status.every((m) => m.appliedAt !== null), 'all migrations applied');
      const again = await migrateToLatest(t.db);
      assert.deepEqual(again.applied, [], 'a second run applies nothing');
    });

    it('round-trips bigint milliseconds as numbers', async () => {
      const now = 1_763_000_000_123;
      await t.db.kysely.insertInto('jobs').values({
        id: 'j1', queue: 'q', type: 't', payload: '{}', state: 'queued', priority: 0, run_at: now,
        attempts: 0, max_attempts: 3, created_at: now, updated_at: now,
      }).execute();
      const row = await t.db.kysely.selectFrom('jobs').select(['run_at', 'priority']).where('id', '=', 'j1').executeTakeFirstOrThrow();
      assert.equal(row.run_at, now);
      assert.equal(typeof row.run_at, 'number');
    });

    it('rolls back a failed write transaction entirely', async () => {
      await assert.rejects(
        t.db.transaction(async (trx) => {
          await trx.updateTable('jobs').set({ state: 'done' }).where('id', '=', 'j1').execute();
          throw new Error('boom');
        }),
        /boom/,
      );
      const row = await t.db.kysely.selectFrom('jobs').select('state').where('id', '=', 'j1').executeTakeFirstOrThrow();
      assert.equal(row.state, 'queued');
    });
  });
}
