import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from './database.js';
import { testDatabases } from './test-support/test-databases.js';
import { migrationStatus, migrateToLatest } from './migrator.js';
import { platformMigrations } from '../platform/migrations.js';
import type { TestDatabase } from './test-support/test-databases.js';

for (const factory of await testDatabases()) {
  describe(`metadata database contract (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestDatabase;
    before(async () => { t = await factory.create(); });
    after(async () => { await t?.dispose(); });

    it('applies every migration on open and reports none pending', async () => {
      const status = await migrationStatus(t.db, platformMigrations);
      assert.ok(status.length >= 1);
      assert.ok(status.every((m) => m.appliedAt !== null), 'all migrations applied');
      const again = await migrateToLatest(t.db, platformMigrations);
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

const postgresFactory = (await testDatabases()).find((f) => f.name === 'postgres')!;
describe('PostgreSQL connections ended by the server', { skip: postgresFactory.skip }, () => {
  it('survives the server ending its idle connections: the error is reported and the next query reconnects', async () => {
    const t = await postgresFactory.create();
    const errors: Error[] = [];
    const db = await openDatabase(t.url, { migrations: platformMigrations, poolSize: 2, onIdleConnectionError: (err) => errors.push(err) });
    try {
      await sql`select 1`.execute(db.kysely);
      // Another session ends every connection of this database but its own, as a restart or failover would.
      await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`.execute(t.db.kysely);
      for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.match(errors[0]?.message ?? '', /terminating connection/);
      const row = await sql<{ n: number }>`select 2 as n`.execute(db.kysely);
      assert.equal(row.rows[0].n, 2);
    } finally {
      await db.close();
      await t.dispose();
    }
  });
});

describe('SQLite file permissions', () => {
  it('creates the database file 0600 in a new 0700 directory, and its WAL file 0600 too', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'capstan-db-mode-'));
    try {
      const file = path.join(root, 'home', 'capstan.db');
      const db = await openDatabase(`sqlite://${file}`, { migrations: platformMigrations });
      try {
        assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
        assert.equal(statSync(file).mode & 0o777, 0o600);
        assert.equal(statSync(`${file}-wal`).mode & 0o777, 0o600);
      } finally {
        await db.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('takes group and other access away from an existing database file', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'capstan-db-mode-'));
    try {
      const file = path.join(root, 'capstan.db');
      writeFileSync(file, '');
      chmodSync(file, 0o644);
      const db = await openDatabase(`sqlite://${file}`, { migrations: platformMigrations });
      await db.close();
      assert.equal(statSync(file).mode & 0o777, 0o600);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('SQLite durability modes', () => {
  for (const synchronous of ['OFFLOADED', 'FULL', 'NORMAL'] as const) {
    it(`keeps writes made inside and outside a transaction across a reopen (synchronous ${synchronous})`, async () => {
      const root = mkdtempSync(path.join(os.tmpdir(), 'capstan-db-sync-'));
      const url = `sqlite://${path.join(root, 'capstan.db')}`;
      try {
        const row = (id: string) => ({ id, queue: 'q', type: 't', payload: '{}', state: 'queued', priority: 0, run_at: 1, attempts: 0, max_attempts: 3, created_at: 1, updated_at: 1 });
        for (const round of ['a', 'b']) {
          // The second round writes into a new WAL: the first close checkpointed and removed the old one.
          const db = await openDatabase(url, { migrations: platformMigrations, synchronous });
          try {
            await db.kysely.insertInto('jobs').values(row(`${round}-alone`)).execute();
            await db.transaction((trx) => trx.insertInto('jobs').values([row(`${round}-tx1`), row(`${round}-tx2`)]).execute());
          } finally {
            await db.close();
          }
        }
        const db = await openDatabase(url, { synchronous });
        try {
          const ids = (await db.kysely.selectFrom('jobs').select('id').orderBy('id').execute()).map((r) => r.id);
          assert.deepEqual(ids, ['a-alone', 'a-tx1', 'a-tx2', 'b-alone', 'b-tx1', 'b-tx2']);
        } finally {
          await db.close();
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }
});
