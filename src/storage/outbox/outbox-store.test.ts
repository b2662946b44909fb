import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../core/logger.js';
import { openDatabase } from '../database.js';
import { testDatabases, type TestDatabase } from '../test-support/test-databases.js';
import { matchesPattern } from './outbox-event.js';
import { OutboxDispatcher } from './outbox-dispatcher.js';
import { appendEvent, OutboxStore } from './outbox-store.js';
import type { OutboxEvent } from './outbox-event.js';

/** A clock the test moves by hand, so leases expire without sleeping. */
function manualClock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('outbox subscription patterns', () => {
  it('match the type itself, a prefix wildcard and everything, nothing else', () => {
    assert.ok(matchesPattern('model_version.created', 'model_version.created'));
    assert.ok(matchesPattern('model_version.created', 'model_version.*'));
    assert.ok(matchesPattern('model_version.created', '*'));
    assert.ok(!matchesPattern('model_version.created', 'model.*'));
    assert.ok(!matchesPattern('model_versionx.created', 'model_version.*'));
    assert.ok(!matchesPattern('endpoint.updated', 'model_version.created'));
  });
});

for (const factory of await testDatabases()) {
  describe(`outbox store and dispatcher (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestDatabase;
    before(async () => {
      t = await factory.create();
    });
    after(async () => {
      await t?.dispose();
    });

    it('appends an event with a pending delivery for each matching subscription only when the transaction commits', async () => {
      const store = new OutboxStore(t.db);
      await store.register('a.models', ['model_version.*']);
      await store.register('a.endpoints', ['endpoint.updated']);
      await assert.rejects(
        t.db.transaction(async (trx) => {
          await appendEvent(trx, { id: 'evt_rolled_back', type: 'model_version.created', data: { model: 'm' } });
          throw new Error('the change failed');
        }),
        /the change failed/,
      );
      assert.deepEqual(await store.events('model_version.created'), []);
      assert.deepEqual(await store.deliveries('evt_rolled_back'), []);

      const e = await t.db.transaction((trx) => appendEvent(trx, { type: 'model_version.created', subject: 'models/m/1', data: { model: 'm', version: 1 } }));
      assert.match(e.id, /^evt_/);
      assert.deepEqual((await store.events('model_version.created')).map((x) => [x.id, x.subject, x.data]), [[e.id, 'models/m/1', { model: 'm', version: 1 }]]);
      assert.deepEqual((await store.deliveries(e.id)).map((d) => [d.subscription, d.state, d.attempts]), [['a.models', 'pending', 0]]);
    });

    it('gives a subscription registered later only the events appended after it', async () => {
      const store = new OutboxStore(t.db);
      const early = await t.db.transaction((trx) => appendEvent(trx, { type: 'b.thing', data: {} }));
      await store.register('b.late', ['b.*']);
      const late = await t.db.transaction((trx) => appendEvent(trx, { type: 'b.thing', data: {} }));
      assert.deepEqual(await store.deliveries(early.id), []);
      assert.deepEqual((await store.deliveries(late.id)).map((d) => d.subscription), ['b.late']);
      assert.ok(late.seq > early.seq, 'the sequence increases in append order');
    });

    it('delivers each event to every subscription, retries a failing subscriber with its attempt number, and acknowledges', async () => {
      const dispatcher = new OutboxDispatcher(new OutboxStore(t.db), silentLogger(), { backoffBaseMs: 0 });
      const calls: string[] = [];
      await dispatcher.subscribe('c.flaky', ['c.*'], (event, d) => {
        calls.push(`flaky ${event.data.n} attempt ${d.attempt}`);
        if (d.attempt === 1) throw new Error('receiver down');
      });
      await dispatcher.subscribe('c.steady', ['c.done'], (event) => void calls.push(`steady ${event.data.n}`));
      const e = await t.db.transaction((trx) => appendEvent(trx, { type: 'c.done', data: { n: 1 } }));
      await dispatcher.drain();
      assert.deepEqual(calls.sort(), ['flaky 1 attempt 1', 'flaky 1 attempt 2', 'steady 1']);
      const rows = await new OutboxStore(t.db).deliveries(e.id);
      assert.deepEqual(rows.map((d) => [d.subscription, d.state, d.attempts]), [['c.flaky', 'delivered', 2], ['c.steady', 'delivered', 1]]);
    });

    it('marks a delivery dead after the last attempt, with the error, and stops retrying it', async () => {
      const dispatcher = new OutboxDispatcher(new OutboxStore(t.db), silentLogger(), { backoffBaseMs: 0, maxAttempts: 3 });
      let calls = 0;
      await dispatcher.subscribe('d.broken', ['d.*'], () => {
        calls++;
        throw new Error('always fails');
      });
      const e = await t.db.transaction((trx) => appendEvent(trx, { type: 'd.x', data: {} }));
      await dispatcher.drain();
      assert.equal(calls, 3);
      const [row] = await new OutboxStore(t.db).deliveries(e.id);
      assert.deepEqual([row.state, row.attempts], ['dead', 3]);
      assert.match(row.lastError!, /always fails/);
    });

    it('claims a delivery again once the lease of a dispatcher that died expires, and refuses the late acknowledgement of the dead one', async () => {
      const clock = manualClock();
      const dead = new OutboxStore(t.db, clock);
      const alive = new OutboxStore(t.db, clock);
      await dead.register('e.sub', ['e.*']);
      const e = await t.db.transaction((trx) => appendEvent(trx, { type: 'e.x', data: {} }, clock));
      const [first] = await dead.claim(['e.sub'], 10, 1000);
      assert.equal(first.event.id, e.id);
      assert.equal(first.attempt, 1);
      assert.deepEqual(await alive.claim(['e.sub'], 10, 1000), [], 'a leased delivery is not claimed twice');
      clock.advance(1001);
      const [second] = await alive.claim(['e.sub'], 10, 1000);
      assert.equal(second.event.id, e.id);
      assert.equal(second.attempt, 2);
      assert.equal(await dead.ack(first), false, 'the expired lease no longer acknowledges');
      assert.equal(await alive.ack(second), true);
      assert.deepEqual((await alive.deliveries(e.id)).map((d) => d.state), ['delivered']);
    });

    it('never hands one delivery to two dispatchers claiming at once', async () => {
      const store = new OutboxStore(t.db);
      await store.register('f.sub', ['f.*']);
      const ids = new Set<string>();
      for (let i = 0; i < 40; i++) ids.add((await t.db.transaction((trx) => appendEvent(trx, { type: 'f.x', data: { i } }))).id);
      const claimers = Array.from({ length: 4 }, () => new OutboxStore(t.db));
      const seen: string[] = [];
      for (let round = 0; round < 20 && seen.length < ids.size; round++) {
        const batches = await Promise.all(claimers.map((c) => c.claim(['f.sub'], 7, 60_000)));
        for (const b of batches) for (const c of b) seen.push(c.event.id);
      }
      assert.equal(seen.length, ids.size, 'every delivery was claimed exactly once');
      assert.deepEqual(new Set(seen), ids);
    });

    it('a running dispatcher delivers an event appended by another handle of the database, woken by polling', async () => {
      const dispatcher = new OutboxDispatcher(new OutboxStore(t.db), silentLogger(), { pollMs: 20 });
      const got: OutboxEvent[] = [];
      let resolve!: () => void;
      const delivered = new Promise<void>((r) => (resolve = r));
      await dispatcher.subscribe('g.sub', ['g.*'], (event) => {
        got.push(event);
        resolve();
      });
      await dispatcher.start();
      try {
        const e = await t.db.transaction((trx) => appendEvent(trx, { type: 'g.x', data: { hello: 'world' } }));
        await delivered;
        assert.deepEqual(got.map((x) => [x.id, x.type, x.data]), [[e.id, 'g.x', { hello: 'world' }]]);
      } finally {
        await dispatcher.stop();
      }
    });

    it('on PostgreSQL, wakes a dispatcher with a long poll interval at once when another connection commits an event (LISTEN/NOTIFY)', { skip: factory.name !== 'postgres' && 'PostgreSQL only' }, async () => {
      const dispatcher = new OutboxDispatcher(new OutboxStore(t.db), silentLogger(), { pollMs: 600_000 });
      const other = await openDatabase(t.url, { migrate: false, poolSize: 2 });
      let resolve!: (e: OutboxEvent) => void;
      const delivered = new Promise<OutboxEvent>((r) => (resolve = r));
      await dispatcher.subscribe('i.sub', ['i.*'], (event) => resolve(event));
      await dispatcher.start();
      try {
        for (let i = 0; i < 400 && !dispatcher.listens; i++) await new Promise((r) => setTimeout(r, 25));
        assert.ok(dispatcher.listens, 'the dispatcher listens for appends');
        const e = await other.transaction((trx) => appendEvent(trx, { type: 'i.x', data: {} }));
        let timer: NodeJS.Timeout | undefined;
        const got = await Promise.race([delivered, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 30_000)))]);
        clearTimeout(timer);
        assert.equal(got?.id, e.id, 'delivered long before the next poll');
      } finally {
        await dispatcher.stop();
        await other.close();
      }
    });

    it('prunes events past their retention with their deliveries, counting the ones never delivered', async () => {
      const clock = manualClock(Date.now() + 1000 * 86_400_000);
      const store = new OutboxStore(t.db, clock);
      await store.register('h.sub', ['h.*']);
      const e = await t.db.transaction((trx) => appendEvent(trx, { type: 'h.x', data: {} }, clock));
      clock.advance(10_000);
      const pruned = await store.prune(5000);
      assert.ok(pruned.events >= 1);
      assert.ok(pruned.undelivered >= 1);
      assert.deepEqual(await store.deliveries(e.id), []);
      assert.deepEqual(await store.events('h.x'), []);
    });
  });
}
