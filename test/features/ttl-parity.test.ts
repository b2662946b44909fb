import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { FeatureService } from '../../src/features/index.js';
import { openTestPlatform, type TestPlatform } from '../../src/platform/test-support/test-platform.js';
import { writeFile } from './feature-fixtures.js';

const REDIS_URL = process.env.CAPSTAN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The same entity at the same time gives the same value, or null, from a training set and from an
 * online read: the TTL boundary (age = TTL present, TTL + 1 ms expired), no value, several entities.
 */
for (const onlineStore of ['sqlite', 'redis'] as const) {
  describe(`TTL parity between training sets and online reads (${onlineStore} online store)`, () => {
    let tp: TestPlatform;
    let features: FeatureService;
    const group = `parity-${randomBytes(4).toString('hex')}`;
    const base = Date.parse('2025-06-01T12:00:00.000Z');
    before(async () => {
      tp = await openTestPlatform({ 'features.onlineStore': onlineStore, 'features.redisUrl': REDIS_URL });
      features = tp.platform.context<FeatureService>('features');
      await features.apply({
        entities: [{ name: 'account', joinKeys: [{ name: 'account_id', type: 'int64' }] }],
        featureGroups: [{ name: group, entities: ['account'], eventTime: 'ts', ttl: '1h', features: [{ name: 'balance', type: 'float64' }, { name: 'tier', type: 'string' }] }],
      });
      await features.pushRecords(group, [
        { account_id: 1, ts: iso(base - 5 * HOUR), balance: 1, tier: 'old' },
        { account_id: 1, ts: iso(base), balance: 10.25, tier: 'gold' },
        { account_id: 2, ts: iso(base - 30 * 60_000 + 123), balance: -3, tier: 'silver' },
        { account_id: 3, ts: iso(base - 2 * HOUR), balance: 99, tier: null },
      ]);
      await features.materialize(group);
    });
    after(async () => {
      await tp.dispose();
      if (onlineStore === 'redis') {
        const redis = new Redis(REDIS_URL);
        await redis.del(`capstan:features:${group}@1`);
        redis.disconnect();
      }
    });

    for (const [label, at] of [
      ['at the newest event', base],
      ['exactly one TTL after it', base + HOUR],
      ['one millisecond past the TTL', base + HOUR + 1],
      ['long after', base + 10 * HOUR],
    ] as const) {
      it(`agrees ${label}`, async () => {
        const ids = [1, 2, 3, 4];
        const entities = writeFile(tp.home, `entities-${at}.csv`, ['account_id,event_timestamp', ...ids.map((id) => `${id},${iso(at)}`)].join('\n'));
        const set = await features.trainingSet({ entities: { path: entities }, features: [`${group}:balance`, `${group}:tier`], out: { key: `parity/${at}.csv` } });
        const lines = (await tp.platform.artifacts.get(set.key)).toString().trim().split('\n').slice(1).map((l) => l.split(','));
        const offline = lines.map((cols) => ({ balance: cols[2] === '' ? null : Number(cols[2]), tier: cols[3] === '' ? null : cols[3] }));
        const online = await features.readOnline({ features: [`${group}:balance`, `${group}:tier`], entities: ids.map((account_id) => ({ account_id })), at: iso(at) });
        const fromOnline = online.results.map((r) => ({ balance: r.values[`${group}:balance`].value, tier: r.values[`${group}:tier`].value }));
        assert.deepEqual(fromOnline, offline);
        const expiredOnline = online.results.filter((r) => r.values[`${group}:balance`].status === 'EXPIRED').length;
        assert.equal(set.features[0].expired, expiredOnline, 'expired counts agree');
      });
    }

    it('shows the boundary itself: present at age = TTL, expired 1 ms later, on both sides', async () => {
      const read = (at: number) => features.readOnline({ features: [`${group}:balance`], entities: [{ account_id: 1 }], at: iso(at) });
      assert.deepEqual((await read(base + HOUR)).results[0].values[`${group}:balance`], { value: 10.25, status: 'PRESENT', eventTime: iso(base) });
      assert.deepEqual((await read(base + HOUR + 1)).results[0].values[`${group}:balance`], { value: null, status: 'EXPIRED', eventTime: iso(base) });
    });
  });
}
