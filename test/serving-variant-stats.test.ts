import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import type { InvokeOptions, VariantStats } from '../src/serving/index.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';

/** A js model: sums a and b; sleeps `sleep` ms first; throws (a model error) when asked to. */
const JS_MODEL = `
export function load() { return {}; }
export async function predict(model, input) {
  if (input.sleep) await new Promise((r) => setTimeout(r, input.sleep));
  if (input.fail) throw new Error('model bug');
  return input.a + input.b;
}
`;

// Two serving processes on one metadata database, as behind a load balancer: the per-variant
// statistics a reader gets are the sum of both processes' traffic.
for (const factory of await testDatabases()) {
  describe(`per-variant statistics across serving processes (${factory.name})`, { skip: factory.skip }, () => {
    let db: TestDatabase;
    let dir: string;
    let a: Platform;
    let b: Platform;
    let app: CapstanApp;

    const open = (name: string) =>
      openPlatform({
        config: compileConfig({ flags: { home: path.join(dir, name), databaseUrl: db.url, artifacts: `file://${path.join(dir, 'artifacts')}` }, env: {}, cwd: dir }),
        logger: silentLogger(),
      });

    async function send(p: Platform, times: number, body: Record<string, unknown>, options: InvokeOptions): Promise<void> {
      for (let i = 0; i < times; i++) await p.serving.invoke('shop', JSON.stringify({ a: 1, b: 2, ...body }), options).catch(() => {});
    }

    const byName = (variants: VariantStats[], name: string) => variants.find((v) => v.variant === name)!;

    before(async () => {
      db = await factory.create();
      await db.db.close();
      dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-stats-'));
      a = await open('a');
      b = await open('b');
      const pkg = path.join(dir, 'adder');
      mkdirSync(pkg, { recursive: true });
      writeFileSync(path.join(pkg, 'model.mjs'), JS_MODEL);
      writeFileSync(path.join(pkg, 'model.json'), JSON.stringify({ name: 'adder', framework: 'js', entry: 'model.mjs' }));
      await registerApproved(a.registry, 'adder', { packageDir: pkg });
      await a.serving.create('shop', { variants: [{ name: 'blue', model: 'models:/adder/1', weight: 9 }, { name: 'green', model: 'models:/adder/1', weight: 1 }] });
      app = await buildApp(a);
    });
    after(async () => {
      await app?.close();
      await a?.close();
      await b?.close();
      await db?.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    it('sums both processes traffic per variant, with error classes and latency percentiles', async () => {
      // Through a: blue 5 ok, 2 model errors, 1 refused (4xx: wrong content type).
      await send(a, 5, {}, { targetVariant: 'blue' });
      await send(a, 2, { fail: true }, { targetVariant: 'blue' });
      await send(a, 1, {}, { targetVariant: 'blue', contentType: 'text/csv' });
      // Through b: blue 3 ok; green 4 slow ok and 1 model error.
      await send(b, 3, {}, { targetVariant: 'blue' });
      await send(b, 4, { sleep: 30 }, { targetVariant: 'green' });
      await send(b, 1, { fail: true }, { targetVariant: 'green' });

      // A reader flushes its own process first; b's counts arrive with b's flush (its timer, or this read).
      await b.serving.variantStats('shop');
      const stats = await a.serving.variantStats('shop', { windowMs: 60_000 });
      assert.equal(stats.endpoint, 'shop');
      assert.equal(stats.windowMs, 60_000);
      assert.deepEqual(stats.variants.map((v) => v.variant), ['blue', 'green'], 'configured variants, in order');

      const blue = byName(stats.variants, 'blue');
      assert.deepEqual([blue.requests, blue.errors4xx, blue.errors5xx, blue.modelErrors], [11, 1, 2, 2]);
      assert.equal(blue.errorRate, 2 / 11);
      const green = byName(stats.variants, 'green');
      assert.deepEqual([green.requests, green.errors4xx, green.errors5xx, green.modelErrors], [5, 0, 1, 1]);
      assert.equal(green.errorRate, 0.2);
      for (const v of [blue, green]) {
        assert.equal(v.histogram.counts.reduce((x, y) => x + y, 0), v.requests, 'every request is in one latency bucket');
        assert.ok(v.latencyMs && v.latencyMs.p50 <= v.latencyMs.p95 && v.latencyMs.p95 <= v.latencyMs.p99);
      }
      assert.ok(green.latencyMs!.p50 >= 25, `green's median request slept 30 ms; p50 ${green.latencyMs!.p50}`);
    });

    it('adds up repeated flushes of the same time bucket instead of overwriting them', async () => {
      await send(b, 2, {}, { targetVariant: 'green' });
      await b.serving.variantStats('shop');
      await send(b, 1, {}, { targetVariant: 'green' });
      await b.serving.variantStats('shop');
      const green = byName((await a.serving.variantStats('shop')).variants, 'green');
      assert.equal(green.requests, 8);
    });

    it('answers the statistics over HTTP and refuses a window outside 1 s to the retention', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/v1/endpoints/shop/stats?windowMs=60000' });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(byName(body.variants, 'blue').requests, 11);
      assert.equal(byName(body.variants, 'blue').histogram.boundsMs.at(-1), null);

      const bad = await app.inject({ method: 'GET', url: '/api/v1/endpoints/shop/stats?windowMs=999999999' });
      assert.equal(bad.statusCode, 400);
      assert.match(String(bad.headers['content-type']), /^application\/problem\+json/);
      assert.equal(bad.json().code, 'CAPSTAN_SERVING_STATS_WINDOW_INVALID');
      assert.match(bad.json().detail, /windowMs must be an integer from 1000 to 3600000/);

      const missing = await app.inject({ method: 'GET', url: '/api/v1/endpoints/nope/stats' });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().code, 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
    });

    it('starts a re-created endpoint of the same name without the old statistics', async () => {
      await b.serving.variantStats('shop');
      await a.serving.delete('shop');
      await a.serving.create('shop', { variants: [{ name: 'blue', model: 'models:/adder/1' }] });
      const stats = await a.serving.variantStats('shop');
      assert.deepEqual(stats.variants.map((v) => [v.variant, v.requests, v.latencyMs]), [['blue', 0, null]]);
      await a.serving.update('shop', { variants: [{ name: 'blue', model: 'models:/adder/1' }, { name: 'green', model: 'models:/adder/1' }] });
      await b.serving.host.sync();
    });

    it('keeps a caller with a sticky key on one variant in both processes', async () => {
      await a.serving.update('shop', { trafficPolicy: { kind: 'sticky' }, weights: { blue: 1, green: 1 } });
      assert.deepEqual((await a.serving.describe('shop')).trafficPolicy, { kind: 'sticky' });
      await b.serving.host.sync();
      for (const key of ['user-1', 'user-2', 'user-3', 'user-4']) {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) {
          seen.add((await a.serving.invoke('shop', '{"a":1,"b":1}', { stickyKey: key })).variant);
          seen.add((await b.serving.invoke('shop', '{"a":1,"b":1}', { stickyKey: key })).variant);
        }
        assert.equal(seen.size, 1, `${key} reached ${[...seen].join(', ')}`);
      }
    });
  });
}
