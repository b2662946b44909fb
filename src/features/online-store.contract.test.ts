import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { OnlineStore } from './online-store.js';
import { RedisOnlineStore } from './redis-online-store.js';
import { SqliteOnlineStore } from './sqlite-online-store.js';

const REDIS_URL = process.env.CAPSTAN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const adapters: Array<{ name: string; open(): { store: OnlineStore; dispose(): void } }> = [
  {
    name: 'sqlite',
    open() {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-online-'));
      return { store: new SqliteOnlineStore(path.join(dir, 'online.db')), dispose: () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  { name: 'redis', open: () => ({ store: new RedisOnlineStore(REDIS_URL, `capstan-test:${randomUUID()}:`), dispose: () => {} }) },
];

const rec = (entityKey: string, eventMs: number, createdMs: number, values: Record<string, unknown>) => ({ entityKey, eventMs, createdMs, values });

for (const adapter of adapters) {
  describe(`online store contract: ${adapter.name}`, () => {
    let store: OnlineStore;
    let dispose: () => void;
    const table = 'txn@1';
    before(() => ({ store, dispose } = adapter.open()));
    after(async () => {
      await store.drop(table);
      await store.drop('other@1');
      await store.close();
      dispose();
    });

    it('reads nothing for unknown keys, and what was written, in key order', async () => {
      assert.deepEqual(await store.read(table, ['["a"]']), [undefined]);
      assert.equal(await store.write(table, [rec('["a"]', 1000, 1000, { x: 1.5, n: null }), rec('["b"]', 2000, 2000, { x: 2, n: 'z' })]), 2);
      assert.deepEqual(await store.read(table, ['["b"]', '["none"]', '["a"]', '["b"]']), [rec('["b"]', 2000, 2000, { x: 2, n: 'z' }), undefined, rec('["a"]', 1000, 1000, { x: 1.5, n: null }), rec('["b"]', 2000, 2000, { x: 2, n: 'z' })]);
    });

    it('keeps the newer value: later event time, or the same event time known no earlier', async () => {
      assert.equal(await store.write(table, [rec('["a"]', 500, 5000, { x: 0 })]), 0, 'an older event never replaces a newer one');
      assert.equal(await store.write(table, [rec('["a"]', 1000, 900, { x: 9 })]), 0, 'same event time known earlier loses');
      assert.equal(await store.write(table, [rec('["a"]', 1000, 1100, { x: 3 })]), 1, 'same event time known later wins');
      assert.equal(await store.write(table, [rec('["a"]', 3000, 3000, { x: 4 })]), 1);
      assert.deepEqual((await store.read(table, ['["a"]']))[0], rec('["a"]', 3000, 3000, { x: 4 }));
    });

    it('writes nothing when the same record comes again (idempotent)', async () => {
      assert.equal(await store.write(table, [rec('["a"]', 3000, 3000, { x: 4 }), rec('["b"]', 2000, 2000, { x: 2, n: 'z' })]), 0);
    });

    it('keeps tables apart and drops one whole', async () => {
      await store.write('other@1', [rec('["a"]', 1, 1, { y: true })]);
      assert.deepEqual((await store.read('other@1', ['["a"]']))[0]?.values, { y: true });
      assert.deepEqual((await store.read(table, ['["a"]']))[0]?.values, { x: 4 });
      await store.drop('other@1');
      assert.deepEqual(await store.read('other@1', ['["a"]']), [undefined]);
    });

    it('writes large batches', async () => {
      const many = Array.from({ length: 1200 }, (_, i) => rec(`["k${i}"]`, i, i, { i }));
      assert.equal(await store.write(table, many), 1200);
      const got = await store.read(table, ['["k0"]', '["k1199"]']);
      assert.deepEqual(got.map((r) => r?.values.i), [0, 1199]);
    });
  });
}
