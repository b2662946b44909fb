import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseUserYaml } from '../src/core/user-yaml.js';
import type { DecisionService } from '../src/decisions/index.js';
import { deployExampleModels, EXAMPLES_DIR } from '../src/decisions/test-support/example-models.js';
import { openDecisionsTestPlatform, type DecisionsTestPlatform } from '../src/decisions/test-support/decisions-test-platform.js';
import type { FeatureDefinitionsInput, FeatureService } from '../src/features/index.js';
import type { NcfFixture } from '../src/serving/test-support/ncf-package-fixture.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';

const example = (file: string) => parseUserYaml(readFileSync(path.join(EXAMPLES_DIR, file), 'utf8'), file);

/** An 8x8 thumbnail: a bright centre with two darker eyes on a darker border. */
const FACE = Array.from({ length: 64 }, (_, i) => {
  const r = Math.floor(i / 8);
  const c = i % 8;
  if (r === 3 && (c === 2 || c === 5)) return 60;
  return r >= 2 && r <= 5 && c >= 2 && c <= 5 ? 190 : 80;
});
const DARK = Array.from({ length: 64 }, (_, i) => 10 + (i % 3));
const STRIPES = Array.from({ length: 64 }, (_, i) => 90 + (i % 8) * 15);

// The customer features come from the real feature store (installed by default): the example's
// definitions and CSV, ingested and materialized to the online store, as docs/decisions.md does.
for (const factory of await testDatabases()) {
  describe(`decision examples on ${factory.name}`, { skip: factory.skip }, () => {
    let t: DecisionsTestPlatform;
    let decisions: DecisionService;
    let ncf: NcfFixture;
    let features: FeatureService;
    const since = new Date(Date.now() - 60_000).toISOString();
    before(async () => {
      t = await openDecisionsTestPlatform(factory, {}, { scorer: false });
      decisions = t.decisions;
      ({ ncf } = await deployExampleModels(t.platform, t.home));
      features = t.platform.context<FeatureService>('features');
      await features.apply(example('customer-features.yaml') as FeatureDefinitionsInput);
      const ingested = await features.ingest('customers', { path: path.join(EXAMPLES_DIR, 'customers.csv') });
      assert.equal(ingested.rowsWritten, 4, JSON.stringify(ingested));
      await features.materialize('customers');
      for (const file of ['transaction-risk.yaml', 'profile-photo-review.yaml', 'recommend.yaml']) await decisions.apply(example(file), { activate: true });
    });
    after(async () => t?.dispose());

    it('transaction-risk: approves a usual purchase and records the features with their event times', async () => {
      const input = JSON.parse(readFileSync(path.join(EXAMPLES_DIR, 'transaction.json'), 'utf8'));
      const r = await decisions.decide('transaction-risk', input);
      assert.equal(r.outcome, 'approve', JSON.stringify(r));
      assert.equal(typeof r.output.fraud_score, 'number');
      const s = (await decisions.record(r.id)).snapshot;
      const customer = s.tasks.find((x) => x.name === 'customer')!;
      assert.deepEqual(customer.features!['customers:avg_amount_30d'], { value: 110, status: 'PRESENT', eventTime: '2026-11-30T08:00:00.000Z' });
      assert.deepEqual(s.tasks.filter((x) => x.type === 'endpoint').map((x) => [x.name, x.model?.name, x.model?.version]), [
        ['fraud', 'fraud', 1],
        ['anomaly', 'amount-anomaly', 1],
      ]);
      const table = (s.rules!.trace as { node: string; fired?: { rule?: { _id: string } } }[]).find((n) => n.node === 'Risk table');
      assert.equal(table?.fired?.rule?._id, 'approve');
    });

    it('transaction-risk: declines a huge amount, reviews a large amount on a new account and repeated chargebacks', async () => {
      const base = { transaction_id: 't-2', merchant_risk: 0.1, hour: 14, distance_km: 3, foreign: false, card_present: true };
      const huge = await decisions.decide('transaction-risk', { ...base, customer_id: 'c-42', amount: 9000 });
      assert.equal(huge.outcome, 'decline');
      const fresh = await decisions.decide('transaction-risk', { ...base, customer_id: 'c-7', amount: 1500 });
      assert.equal(fresh.outcome, 'review');
      const chargebacks = await decisions.decide('transaction-risk', { ...base, customer_id: 'c-13', amount: 50 });
      assert.deepEqual([chargebacks.outcome, chargebacks.reasons], ['review', ['more than one chargeback in 90 days']]);
      const unknown = await decisions.decide('transaction-risk', { ...base, customer_id: 'c-unknown', amount: 40 });
      assert.equal(unknown.outcome, 'approve');
    });

    it('profile-photo-review: approves a clear face, rejects a dark or explicit photo, reviews one without a face, and reviews a user after two rejections', async () => {
      const photo = (pixels: number[], skin: number) => decisions.decide('profile-photo-review', { user_id: 'u-1', photo_id: 'p', pixels, skin_ratio: skin });
      const good = await photo(FACE, 0.2);
      assert.deepEqual([good.outcome, good.reasons], ['approve', ['passed every check']]);
      const noFace = await photo(STRIPES, 0.1);
      assert.deepEqual([noFace.outcome, noFace.reasons], ['review', ['no face found']]);
      assert.deepEqual((await photo(DARK, 0.1)).reasons, ['too dark, too bright or too flat']);
      assert.deepEqual((await photo(FACE, 0.95)).reasons, ['explicit content']);
      const third = await photo(FACE, 0.2);
      assert.deepEqual([third.outcome, third.reasons], ['review', ['several rejected photos in 30 days']]);
    });

    it('recommend: drops seen items and caps each category, in the model order', async () => {
      const user = ncf.userIds[3];
      const plain = await decisions.decide('recommend', { user });
      const ranked = plain.output.items as (string | number)[];
      assert.equal(ranked.length, 10);
      const categories = Object.fromEntries(ranked.slice(0, 4).map((item) => [String(item), 'shoes']));
      const r = await decisions.decide('recommend', { user, seen: [ranked[0]], categories });
      const items = r.output.items as (string | number)[];
      assert.equal(r.outcome, 'recommend');
      assert.ok(!items.includes(ranked[0]));
      assert.deepEqual(items.slice(0, 2), [ranked[1], ranked[2]]);
      assert.ok(!items.includes(ranked[3]), 'the third shoe is over the cap');
      assert.deepEqual(r.reasons, ['1 seen item(s) excluded', '1 item(s) over the per-category cap']);
    });

    it('replays every example over its own records exactly (same outcomes, reasons and outputs)', async () => {
      for (const usecase of ['transaction-risk', 'profile-photo-review', 'recommend']) {
        const report = await decisions.replay(usecase, { version: 1, since });
        assert.ok(report.records >= 2, usecase);
        assert.deepEqual([report.changed, report.detailsChanged, report.skipped], [0, 0, 0], `${usecase}: ${JSON.stringify(report)}`);
      }
    });

    it('records every feature value with its event time and status from the online store (present, not found, expired)', async () => {
      const base = { transaction_id: 't-3', merchant_risk: 0.1, hour: 14, distance_km: 3, foreign: false, card_present: true, amount: 40 };
      const refs = ['avg_amount_30d', 'std_amount_30d', 'tx_count_24h', 'account_age_days', 'chargebacks_90d'].map((f) => `customers:${f}`);
      const snapshotOf = async (customer: string) => {
        const r = await decisions.decide('transaction-risk', { ...base, customer_id: customer });
        return (await decisions.record(r.id)).snapshot.tasks.find((x) => x.name === 'customer')!;
      };
      const present = await snapshotOf('c-13');
      assert.deepEqual(present.features, Object.fromEntries(refs.map((ref, i) => [ref, { value: [80, 30, 1, 400, 3][i], status: 'PRESENT', eventTime: '2026-11-30T10:00:00.000Z' }])));
      assert.deepEqual(present.output, { avg_amount_30d: 80, std_amount_30d: 30, tx_count_24h: 1, account_age_days: 400, chargebacks_90d: 3 });
      const unknown = await snapshotOf('c-unknown');
      assert.deepEqual(unknown.features, Object.fromEntries(refs.map((ref) => [ref, { value: null, status: 'NOT_FOUND', eventTime: null }])));
      // A TTL of one hour makes the stored values (event time 2026-11-30) expired: null, the event time kept.
      const definitions = example('customer-features.yaml') as FeatureDefinitionsInput;
      await features.apply({ featureGroups: definitions.featureGroups!.map((g) => ({ ...g, ttl: '1h' })) });
      const expired = await snapshotOf('c-13');
      assert.deepEqual(expired.features, Object.fromEntries(refs.map((ref) => [ref, { value: null, status: 'EXPIRED', eventTime: '2026-11-30T10:00:00.000Z' }])));
    });
  });
}
