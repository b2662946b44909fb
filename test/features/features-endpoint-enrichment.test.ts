import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../../src/core/errors.js';
import type { FeatureService } from '../../src/features/index.js';
import { openServingTestPlatform, registerApproved, type ServingTestPlatform } from '../../src/serving/test-support/serving-test-platform.js';
import { DEFINITIONS } from './feature-fixtures.js';

// A js model that answers with exactly the instances it received, so the test sees what enrichment added.
const ECHO = `export function load() { return {}; }
export function preprocess(body) { return Array.isArray(body?.instances) ? body.instances : [body]; }
export function predict(_m, instances) { return instances; }
`;

describe('endpoint variant features: enrichment (request field → entity key → online values in the model input)', () => {
  let t: ServingTestPlatform;
  const iso = (ms: number) => new Date(ms).toISOString();
  const now = Date.now();
  before(async () => {
    t = await openServingTestPlatform();
    const features = t.platform.context<FeatureService>('features');
    await features.apply(DEFINITIONS);
    await features.pushRecords('txn', [
      { customer_id: 'c1', event_time: iso(now - 60_000), amount_sum: 42.5, txn_count: 7 },
      { customer_id: 'c2', event_time: iso(now - 5 * 3_600_000), amount_sum: 1, txn_count: 1 },
    ]);
    await features.materialize('txn');
    const dir = path.join(t.scratch, 'echo');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name: 'echo', framework: 'js', entry: 'model.mjs' }));
    writeFileSync(path.join(dir, 'model.mjs'), ECHO);
    await registerApproved(t.registry, 'echo', { packageDir: dir });
    await t.platform.serving.create('scorer', {
      variants: [{ model: 'models:/echo/1', features: { features: ['txn:amount_sum', 'txn:txn_count'], entityKeys: { customer_id: 'card' }, as: { 'txn:txn_count': 'count_7d' } } }],
    });
  });
  after(() => t.dispose());

  it('adds the values to each instance in-process, null unless PRESENT', async () => {
    const res = await t.platform.serving.invoke('scorer', JSON.stringify({ instances: [{ card: 'c1', amount: 3 }, { card: 'c2', amount: 4 }, { card: 'c3', amount: 5 }] }));
    assert.deepEqual(JSON.parse(res.body), [
      { amount: 3, amount_sum: 42.5, count_7d: 7 },
      { amount: 4, amount_sum: null, count_7d: null },
      { amount: 5, amount_sum: null, count_7d: null },
    ]);
  });

  it('refuses an instance without the entity field', async () => {
    await assert.rejects(t.platform.serving.invoke('scorer', JSON.stringify({ amount: 1 })), (err) => isCapstanError(err, 'CAPSTAN_SERVING_INVALID_INPUT') && /lacks field card/.test(err.message));
  });

  it('refuses a variant naming a malformed feature reference', async () => {
    await assert.rejects(t.platform.serving.create('bad', { variants: [{ model: 'models:/echo/1', features: { features: ['no-colon'] } }] }), (err) => isCapstanError(err, 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID') && /variants\[0\]\.features\.features/.test(err.message));
  });
});
