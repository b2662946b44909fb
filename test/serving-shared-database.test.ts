import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';

// Two server processes on one metadata database and one artifact store, as behind a load balancer:
// an endpoint created or redeployed through either is served by both.
for (const factory of await testDatabases()) {
  describe(`endpoints shared through the metadata database (${factory.name})`, { skip: factory.skip }, () => {
    let db: TestDatabase;
    let dir: string;
    let a: Platform;
    let b: Platform;

    const open = (name: string) =>
      openPlatform({
        // Each process keeps its own package cache under its home; the database and the store are shared.
        config: compileConfig({ flags: { home: path.join(dir, name), databaseUrl: db.url, artifacts: `file://${path.join(dir, 'artifacts')}` }, env: {}, cwd: dir }),
        logger: silentLogger(),
      });
    const rank = async (p: Platform) => JSON.parse((await p.serving.invoke('shop', JSON.stringify({ user: 1003, items: [5001, 5002, 5003] }))).body);

    before(async () => {
      db = await factory.create();
      await db.db.close();
      dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-shared-'));
      a = await open('a');
      b = await open('b');
      for (const seed of [1, 2]) await registerApproved(a.registry, 'ncf', { packageDir: writeNcfPackage(path.join(dir, `pkg-${seed}`), { users: 10, items: 30, seed }).dir });
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await db?.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    it('serves an endpoint created through the other process', async () => {
      const ep = await a.serving.create('shop', { variants: [{ model: 'models:/ncf/1' }] });
      assert.equal(ep.status, 'InService', ep.statusReason ?? '');
      const fromA = await rank(a);
      const fromB = await rank(b);
      assert.deepEqual(fromB, fromA, 'the same model answers in both processes');
      assert.equal((await b.serving.describe('shop')).variants[0].resolved.version, 1);
    });

    it('picks up a redeploy made through the other process at its next sync', async () => {
      const before = await rank(b);
      const deployed = await a.serving.deploy('shop', 'models:/ncf/2');
      assert.equal(deployed.model.version, 2);
      await b.serving.host.sync();
      const after = await rank(b);
      assert.deepEqual(after, await rank(a), 'b now answers with version 2, as a does');
      assert.notDeepEqual(after.scores, before.scores, 'version 2 scores differently from version 1');
    });

    it('stops serving an endpoint deleted through the other process', async () => {
      await a.serving.delete('shop');
      await b.serving.host.sync();
      await assert.rejects(b.serving.invoke('shop', '{"user":1003,"items":[5001]}'), (err: Error & { code?: string }) => err.code === 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
    });
  });
}
