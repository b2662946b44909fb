import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { openServingTestPlatform, type ServingTestPlatform } from '../src/serving/test-support/serving-test-platform.js';

const BODY = JSON.stringify({ user: 1001, items: [5001, 5002, 5003, 5004, 5005] });

describe('production variants: weighted routing, live weight changes and blue/green deploys', () => {
  let t: ServingTestPlatform;
  let app: CapstanApp;
  let base: string;

  async function call(endpoint: string, headers: Record<string, string> = {}): Promise<{ status: number; variant: string | null; body: string }> {
    const res = await fetch(`${base}/endpoints/${endpoint}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: BODY });
    return { status: res.status, variant: res.headers.get('x-capstan-invoked-variant'), body: await res.text() };
  }

  /** Keeps `concurrency` clients invoking until `stop()`; returns every status seen and the variants that answered. */
  function holdLoad(endpoint: string, concurrency = 8) {
    let running = true;
    const statuses = new Map<number, number>();
    const bodies = new Set<string>();
    const loops = Array.from({ length: concurrency }, async () => {
      while (running) {
        try {
          const r = await call(endpoint);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          bodies.add(r.body);
        } catch {
          statuses.set(-1, (statuses.get(-1) ?? 0) + 1);
        }
      }
    });
    return {
      async stop() {
        running = false;
        await Promise.all(loops);
        return { statuses, bodies };
      },
    };
  }

  before(async () => {
    t = await openServingTestPlatform();
    await t.registerNcf('ncf', { users: 10, items: 20, seed: 1 });
    await t.registerNcf('ncf', { users: 10, items: 20, seed: 2 });
    app = await buildApp(t.platform);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
    const ep = await t.platform.serving.create('ab', {
      variants: [
        { name: 'blue', model: 'models:/ncf/1', weight: 85 },
        { name: 'green', model: 'models:/ncf/2', weight: 15 },
      ],
    });
    assert.equal(ep.status, 'InService', ep.statusReason ?? '');
  });

  after(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('splits 2,000 requests by weight within 3 points', async () => {
    const counts = new Map<string, number>();
    for (let round = 0; round < 40; round++) {
      const results = await Promise.all(Array.from({ length: 50 }, () => call('ab')));
      for (const r of results) {
        assert.equal(r.status, 200, r.body);
        counts.set(r.variant!, (counts.get(r.variant!) ?? 0) + 1);
      }
    }
    const blue = (100 * (counts.get('blue') ?? 0)) / 2000;
    // 85/15 keeps ±3 points at 3.8 standard deviations (about 2 in 10,000 runs fail by chance; 70/30 would be 1 in 300).
    assert.ok(Math.abs(blue - 85) <= 3, `blue got ${blue}% of traffic, expected 85 ± 3`);
    assert.equal((counts.get('blue') ?? 0) + (counts.get('green') ?? 0), 2000);
  });

  it('sends every request to the variant named by X-Capstan-Target-Variant', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, () => call('ab', { 'x-capstan-target-variant': 'green' })));
    assert.deepEqual(new Set(results.map((r) => r.variant)), new Set(['green']));
  });

  it('changes weights and adds a variant under load without a failed request', async () => {
    const load = holdLoad('ab');
    const reweighted = await t.platform.serving.update('ab', { weights: { blue: 0, green: 100 } });
    assert.deepEqual(reweighted.variants.map((v) => v.live?.trafficPercent), [0, 100]);
    const grown = await t.platform.serving.update('ab', {
      variants: [
        { name: 'blue', model: 'models:/ncf/1', weight: 0 },
        { name: 'green', model: 'models:/ncf/2', weight: 50 },
        { name: 'canary', model: 'models:/ncf/1', weight: 50 },
      ],
    });
    const { statuses } = await load.stop();
    assert.deepEqual([...statuses.keys()], [200], `statuses under load: ${JSON.stringify([...statuses])}`);
    assert.equal(grown.generation, 3);
    assert.deepEqual(grown.variants.map((v) => v.live?.workers), [1, 1, 1]);
    const after = await Promise.all(Array.from({ length: 40 }, () => call('ab')));
    assert.ok(!after.some((r) => r.variant === 'blue'), 'a variant with weight 0 still got traffic');
  });

  it('deploys a new model version blue/green under load with zero failed requests', async () => {
    const created = await t.platform.serving.deploy('shop', 'models:/ncf/1');
    assert.equal(created.action, 'created');
    const before = await call('shop');
    const load = holdLoad('shop');
    const deployed = await t.platform.serving.deploy('shop', 'models:/ncf/2');
    const { statuses, bodies } = await load.stop();
    assert.equal(deployed.action, 'updated');
    assert.deepEqual(deployed.previous?.map((m) => m.version), [1]);
    assert.deepEqual([...statuses.keys()], [200], `statuses under load: ${JSON.stringify([...statuses])}`);
    const afterDeploy = await call('shop');
    assert.notEqual(afterDeploy.body, before.body, 'the new version should score differently');
    assert.ok(bodies.has(before.body) || bodies.has(afterDeploy.body));
    const ep = await t.platform.serving.describe('shop');
    assert.equal(ep.variants.length, 1);
    assert.equal(ep.variants[0].resolved.version, 2);
    assert.equal(ep.variants[0].live?.workers, 1);
    const again = await t.platform.serving.deploy('shop', 'models:/ncf/2');
    assert.equal(again.action, 'unchanged');
  });
});
