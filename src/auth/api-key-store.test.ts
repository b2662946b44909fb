import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCapstanError } from '../core/errors.js';
import { openTestPlatform, type TestPlatform } from '../platform/test-support/test-platform.js';
import { testDatabases } from '../storage/test-support/test-databases.js';
import { foundation } from '../storage/migrations/0001-foundation.js';
import { uniqueKeyNames } from './migrations/0005-unique-key-names.js';
import { buildApp, type CapstanApp } from '../server/app.js';
import { ApiKeyStore } from './api-key-store.js';

for (const factory of await testDatabases()) {
  describe(`API key names (${factory.name})`, { skip: factory.skip }, () => {
    it('refuses a second active key with the same name, and allows the name again once revoked', async () => {
      const t = await factory.create();
      try {
        const keys = new ApiKeyStore(t.db);
        const first = await keys.create('ci', 'admin');
        await assert.rejects(keys.create('ci', 'viewer'), (err: unknown) => isCapstanError(err, 'CAPSTAN_AUTH_KEY_NAME_TAKEN') && /already named "ci"/.test(err.message));
        assert.equal((await keys.list()).length, 1, 'nothing was created');
        assert.equal((await keys.revoke('ci')).id, first.info.id);
        const second = await keys.create('ci', 'viewer');
        assert.equal((await keys.revoke('ci')).id, second.info.id, 'the name names one active key');
        assert.equal(await keys.authenticate(second.key), undefined);
      } finally {
        await t.dispose();
      }
    });

    it('the migration renames active duplicates (the oldest keeps the name) and every key still authenticates', async () => {
      const t = await factory.create({ migrate: false });
      try {
        await foundation.up(t.db.kysely);
        const rows = [
          { id: 'key_0000000001aaaaaaaaaaaa', name: 'ci', created_at: 1 },
          { id: 'key_0000000002bbbbbbbbbbbb', name: 'ci', created_at: 2 },
          { id: 'key_0000000003cccccccccccc', name: 'ci', created_at: 3 },
          { id: 'key_0000000004dddddddddddd', name: 'ci', created_at: 4, revoked_at: 5 },
          { id: 'key_0000000005eeeeeeeeeeee', name: 'other', created_at: 5 },
        ];
        for (const r of rows) {
          await t.db.kysely
            .insertInto('api_keys')
            .values({ role: 'admin', prefix: 'cap_x', hash: `h${r.id}`, last_used_at: null, revoked_at: null, ...r })
            .execute();
        }
        await uniqueKeyNames.up(t.db.kysely);
        const names = (await t.db.kysely.selectFrom('api_keys').select(['id', 'name']).orderBy('id').execute()).map((r) => r.name);
        assert.deepEqual(names, ['ci', 'ci-bbbbbbbb', 'ci-cccccccc', 'ci', 'other']);
        await assert.rejects(t.db.kysely.insertInto('api_keys').values({ id: 'key_x', name: 'other', role: 'admin', prefix: 'p', hash: 'hx', created_at: 9, last_used_at: null, revoked_at: null }).execute());
      } finally {
        await t.dispose();
      }
    });
  });
}

describe('POST /api/v1/keys with a name in use', () => {
  let tp: TestPlatform;
  let app: CapstanApp;
  let admin: string;
  before(async () => {
    tp = await openTestPlatform({ 'server.auth': true });
    app = await buildApp(tp.platform);
    admin = (await tp.platform.apiKeys.create('admin', 'admin')).key;
  });
  after(async () => {
    await app?.close();
    await tp?.dispose();
  });

  it('answers 409 problem+json CAPSTAN_AUTH_KEY_NAME_TAKEN and creates nothing; DELETE by name revokes the one key it reports', async () => {
    const post = (name: string) => app.inject({ method: 'POST', url: '/api/v1/keys', headers: { authorization: `Bearer ${admin}` }, payload: { name, role: 'viewer' } });
    assert.equal((await post('ops')).statusCode, 201);
    const again = await post('ops');
    assert.equal(again.statusCode, 409);
    assert.match(String(again.headers['content-type']), /application\/problem\+json/);
    assert.equal(again.json().code, 'CAPSTAN_AUTH_KEY_NAME_TAKEN');
    assert.equal((await tp.platform.apiKeys.list()).filter((k) => k.name === 'ops').length, 1);
    const revoked = await app.inject({ method: 'DELETE', url: '/api/v1/keys/ops', headers: { authorization: `Bearer ${admin}` } });
    assert.equal(revoked.statusCode, 200);
    assert.equal((await tp.platform.apiKeys.list()).filter((k) => k.name === 'ops' && k.revokedAt === null).length, 0);
  });
});
