import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../core/config.js';
import { isCapstanError } from '../core/errors.js';
import { SecretBox } from '../core/secret-box.js';
import { JobQueue } from '../storage/queue/job-queue.js';
import { testDatabases } from '../storage/test-support/test-databases.js';
import { SqlWebhookStore } from './sql-webhook-store.js';

const queueSettings = compileConfig({ env: {}, cwd: os.tmpdir() }).queue;
const scratch: string[] = [];
after(() => scratch.forEach((d) => rmSync(d, { recursive: true, force: true })));
function keyFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-secret-'));
  scratch.push(dir);
  return path.join(dir, 'home', 'secret.key');
}

for (const factory of await testDatabases()) {
  describe(`webhook secrets at rest (${factory.name})`, { skip: factory.skip }, () => {
    const input = { url: 'https://hooks.example.com/x', secret: 'plain-secret-0123456789' };

    it('stores a new secret AES-GCM encrypted under a key file created 0600, and reads it back for signing', async () => {
      const t = await factory.create();
      try {
        const file = keyFile();
        const store = new SqlWebhookStore(t.db, new JobQueue(t.db, queueSettings), new SecretBox({ keyFile: file }));
        const created = await store.create(input, 'test');
        assert.equal(created.secret, input.secret, 'the creator sees the secret once');
        const raw = await t.db.kysely.selectFrom('registry_webhooks').select('secret').where('id', '=', created.id).executeTakeFirstOrThrow();
        assert.match(raw.secret, /^enc:v1:/);
        assert.ok(!raw.secret.includes(input.secret));
        assert.equal((await store.find(created.id))?.secret, input.secret);
        assert.equal(statSync(file).mode & 0o777, 0o600);
        assert.equal(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url').length, 32);
      } finally {
        await t.dispose();
      }
    });

    it('keeps plaintext rows of earlier versions working and encrypts them on first use', async () => {
      const t = await factory.create();
      try {
        const plainStore = new SqlWebhookStore(t.db, new JobQueue(t.db, queueSettings));
        const legacy = await plainStore.create(input, 'test');
        const rawSecret = async () => (await t.db.kysely.selectFrom('registry_webhooks').select('secret').where('id', '=', legacy.id).executeTakeFirstOrThrow()).secret;
        assert.equal(await rawSecret(), input.secret, 'arranged: a plaintext row');
        const store = new SqlWebhookStore(t.db, new JobQueue(t.db, queueSettings), new SecretBox({ secretKey: 'k'.repeat(40), keyFile: keyFile() }));
        assert.equal((await store.find(legacy.id))?.secret, input.secret);
        assert.match(await rawSecret(), /^enc:v1:/);
        assert.equal((await store.find(legacy.id))?.secret, input.secret);
      } finally {
        await t.dispose();
      }
    });

    it('refuses to open a secret under another key or moved to another row, with a catalogue code', async () => {
      const t = await factory.create();
      try {
        const queue = new JobQueue(t.db, queueSettings);
        const store = new SqlWebhookStore(t.db, queue, new SecretBox({ secretKey: 'a'.repeat(40), keyFile: keyFile() }));
        const one = await store.create(input, 'test');
        const two = await store.create({ ...input, secret: 'another-secret-0123456789' }, 'test');
        const other = new SqlWebhookStore(t.db, queue, new SecretBox({ secretKey: 'b'.repeat(40), keyFile: keyFile() }));
        await assert.rejects(other.find(one.id), (err: unknown) => isCapstanError(err, 'CAPSTAN_CONFIG_SECRET_KEY_MISMATCH') && /every process sharing the database/.test(err.message));
        const sealedOne = (await t.db.kysely.selectFrom('registry_webhooks').select('secret').where('id', '=', one.id).executeTakeFirstOrThrow()).secret;
        await t.db.kysely.updateTable('registry_webhooks').set({ secret: sealedOne }).where('id', '=', two.id).execute();
        await assert.rejects(store.find(two.id), (err: unknown) => isCapstanError(err, 'CAPSTAN_CONFIG_SECRET_KEY_MISMATCH'));
      } finally {
        await t.dispose();
      }
    });
  });
}
