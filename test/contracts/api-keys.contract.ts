import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiKeyAdmin } from '../../src/auth/index.js';
import { rejectsWithCode, type MakeTarget } from './contract-target.js';

/** The API-key administration contract: what `capstan keys` relies on, embedded or through `--url`. */
export function describeApiKeysContract(name: string, target: MakeTarget<ApiKeyAdmin>): void {
  describe(`API keys contract (${name})`, () => {
    it('creates a key whose secret is returned once, lists it without the secret, and revokes it by name', async () => {
      const { service, name: n } = target();
      const keyName = n('ci-bot');
      const created = await service.create(keyName, 'editor');
      assert.equal(created.info.name, keyName);
      assert.equal(created.info.role, 'editor');
      assert.match(created.key, /^cap_/);
      const listed = (await service.list()).find((k) => k.id === created.info.id);
      assert.ok(listed, 'the new key is listed');
      assert.equal(listed.name, keyName);
      assert.equal(JSON.stringify(listed).includes(created.key), false, 'the listing never shows the secret');
      const revoked = await service.revoke(keyName);
      assert.equal(revoked.id, created.info.id);
      assert.ok(revoked.revokedAt, 'the revoked key carries its revocation time');
      await rejectsWithCode(service.revoke(keyName), 'CAPSTAN_AUTH_KEY_NOT_FOUND');
    });

    it('refuses a taken name, an unknown role and an invalid name with their codes, creating nothing', async () => {
      const { service, name: n } = target();
      const keyName = n('taken');
      await service.create(keyName, 'viewer');
      // lastUsedAt moves whenever the server's own admin key is used, so compare what a refusal could change.
      const keys = async () => (await service.list()).map((k) => `${k.id} ${k.name} ${k.role} ${k.revokedAt}`);
      const before = await keys();
      const err = await rejectsWithCode(service.create(keyName, 'admin'), 'CAPSTAN_AUTH_KEY_NAME_TAKEN');
      assert.equal(err.fields.name, keyName);
      await rejectsWithCode(service.create(n('other'), 'superuser'), 'CAPSTAN_AUTH_ROLE_INVALID');
      await rejectsWithCode(service.create('has spaces/and slashes', 'viewer'), 'CAPSTAN_NAME_INVALID');
      assert.deepEqual(await keys(), before);
    });

    it('answers CAPSTAN_AUTH_KEY_NOT_FOUND for revoking a key that never existed', async () => {
      const { service, name: n } = target();
      await rejectsWithCode(service.revoke(n('never-created')), 'CAPSTAN_AUTH_KEY_NOT_FOUND');
    });
  });
}
