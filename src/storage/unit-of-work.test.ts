import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type Database } from './database.js';
import { testDatabases, type TestDatabase } from './test-support/test-databases.js';

for (const factory of await testDatabases()) {
  describe(`unit of work over the shared database (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestDatabase;
    let other: Database;
    const names = async (db: Database = t.db) => (await db.kysely.selectFrom('uow_probe').select('name').orderBy('name').execute()).map((r) => r.name as string);
    before(async () => {
      t = await factory.create();
      await sql`create table uow_probe (name text primary key)`.execute(t.db.kysely);
      // A second connection pool: what another process sees.
      other = await openDatabase(t.url);
    });
    after(async () => {
      await other?.close();
      await t?.dispose();
    });

    it('commits the writes of every store (db.as, db.kysely, db.transaction) together, after which the after-commit hooks run', async () => {
      const seen: string[][] = [];
      await t.db.unitOfWork(async () => {
        await t.db.as<{ uow_probe: { name: string } }>().insertInto('uow_probe').values({ name: 'a' }).execute();
        await t.db.transaction((trx) => trx.insertInto('uow_probe').values({ name: 'b' }).execute());
        await t.db.afterCommit(async () => void seen.push(await names(other)));
        if (factory.name === 'postgres') assert.deepEqual(await names(other), [], 'another connection sees none of it before the commit');
      });
      assert.deepEqual(seen, [['a', 'b']], 'the hook ran once, after the commit');
      assert.deepEqual(await names(other), ['a', 'b']);
    });

    it('rolls every write back when the unit throws, and never runs its after-commit hooks', async () => {
      let ran = false;
      await assert.rejects(
        t.db.unitOfWork(async () => {
          await t.db.kysely.insertInto('uow_probe').values({ name: 'c' }).execute();
          await t.db.transaction((trx) => trx.insertInto('uow_probe').values({ name: 'd' }).execute());
          await t.db.afterCommit(() => void (ran = true));
          throw new Error('refused half-way');
        }),
        /refused half-way/,
      );
      assert.equal(ran, false);
      assert.deepEqual(await names(), ['a', 'b']);
    });

    it('undoes only a failed inner transaction (a savepoint), and the unit goes on and commits', async () => {
      await t.db.unitOfWork(async () => {
        await t.db.kysely.insertInto('uow_probe').values({ name: 'e' }).execute();
        await assert.rejects(
          t.db.transaction(async (trx) => {
            await trx.insertInto('uow_probe').values({ name: 'f' }).execute();
            // A duplicate key: on PostgreSQL the whole transaction would be aborted without the savepoint.
            await trx.insertInto('uow_probe').values({ name: 'a' }).execute();
          }),
        );
        await t.db.kysely.insertInto('uow_probe').values({ name: 'g' }).execute();
      });
      assert.deepEqual(await names(), ['a', 'b', 'e', 'g']);
    });

    it('runs after-commit work at once outside a unit, and work a unit started later no longer joins its transaction', async () => {
      let ran = false;
      await t.db.afterCommit(() => void (ran = true));
      assert.equal(ran, true);
      let late: Promise<unknown> | undefined;
      await t.db.unitOfWork(async () => {
        late = new Promise((resolve, reject) => setTimeout(() => t.db.kysely.insertInto('uow_probe').values({ name: 'h' }).execute().then(resolve, reject), 50));
      });
      await late;
      assert.deepEqual(await names(other), ['a', 'b', 'e', 'g', 'h']);
    });
  });
}
