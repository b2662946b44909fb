import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openTestPlatform, type TestPlatform } from '../platform/test-support/test-platform.js';
import { testDatabases, type TestDatabase } from '../storage/test-support/test-databases.js';
import { ApiKeyStore, type Principal } from './api-key-store.js';
import { ConsoleSessions } from './console-sessions.js';

for (const factory of await testDatabases()) {
  describe(`console sessions (${factory.name})`, { skip: factory.skip }, () => {
    let db: TestDatabase;
    let t: TestPlatform;
    let keys: ApiKeyStore;
    let principal: Principal;
    before(async () => {
      db = await factory.create();
      t = await openTestPlatform({ databaseUrl: db.url });
      keys = new ApiKeyStore(t.platform.db);
      principal = { keyId: (await keys.create('ed', 'editor')).info.id, name: 'ed', role: 'editor' };
    });
    after(async () => {
      await t?.dispose();
      await db?.dispose();
    });

    it('a session expires after its time to live and is then unknown', async () => {
      const sessions = new ConsoleSessions(t.platform.db, { ttlMs: 60_000 });
      const s = await sessions.create(principal, 1_000);
      assert.deepEqual((await sessions.get(s.id, 60_999))?.principal, principal);
      assert.equal(await sessions.get(s.id, 61_000), undefined);
    });

    it('is known to every holder of the same database, and a sign-out on one ends it for all', async () => {
      const a = new ConsoleSessions(t.platform.db);
      const b = new ConsoleSessions(t.platform.db);
      const s = await a.create(principal);
      const seen = await b.get(s.id);
      assert.deepEqual([seen?.principal, seen?.csrfToken], [principal, s.csrfToken]);
      await b.revoke(s.id);
      assert.equal(await a.get(s.id), undefined);
    });

    it('stores ids hashed, and revoking a key ends its sessions; ids and CSRF tokens are random and distinct', async () => {
      const owner: Principal = { keyId: (await keys.create('short', 'viewer')).info.id, name: 'short', role: 'viewer' };
      const sessions = new ConsoleSessions(t.platform.db);
      const a = await sessions.create(owner);
      const b = await sessions.create(owner);
      const other = await sessions.create(principal);
      assert.notEqual(a.id, b.id);
      assert.notEqual(a.csrfToken, b.csrfToken);
      const stored = await t.platform.db.kysely.selectFrom('console_sessions').select('id_hash').execute();
      assert.ok(stored.every((r) => r.id_hash !== a.id && r.id_hash !== b.id && /^[0-9a-f]{64}$/.test(r.id_hash)));
      assert.deepEqual((await sessions.get(a.id))?.principal, owner);
      await keys.revoke('short');
      assert.equal(await sessions.get(a.id), undefined);
      assert.equal(await sessions.get(b.id), undefined);
      assert.deepEqual((await sessions.get(other.id))?.principal, principal, 'another key\'s session lives on');
    });

    it('a session for a key that does not exist is unknown', async () => {
      const sessions = new ConsoleSessions(t.platform.db);
      const s = await sessions.create({ keyId: 'key_missing', name: 'ghost', role: 'admin' });
      assert.equal(await sessions.get(s.id), undefined);
    });
  });
}

it('a time to live under a second is refused', async () => {
  const t = await openTestPlatform();
  try {
    assert.throws(() => new ConsoleSessions(t.platform.db, { ttlMs: 10 }), /at least 1000/);
  } finally {
    await t.dispose();
  }
});
