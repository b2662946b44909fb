import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../../core/clock.js';
import { CapstanError, isCapstanError, type ErrorCode } from '../../core/errors.js';
import { testDatabases, type TestDatabase } from '../test-support/test-databases.js';
import { JobQueue, type QueueSettings } from './job-queue.js';
import { backoffDelay } from './retry-policy.js';

const settings: QueueSettings = { leaseMs: 1000, heartbeatMs: 250, maxAttempts: 3, backoffBaseMs: 100, backoffMaxMs: 1000, pollMs: 10, concurrency: 2 };

/** A clock the test moves by hand, so lease expiry and run-at are tested without sleeping. */
class ManualClock implements Clock {
  t = 1_800_000_000_000;
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err) => {
    assert.ok(isCapstanError(err, code), `expected ${code}, got ${(err as Error)?.message}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('backoffDelay', () => {
  it('grows its ceiling exponentially from the base up to the maximum', () => {
    const top = () => 0.999999;
    const ceilings = [1, 2, 3, 4, 5, 6, 10, 60].map((a) => backoffDelay(a, 100, 1000, top));
    assert.deepEqual(ceilings, [99, 199, 399, 799, 999, 999, 999, 999]);
  });

  it('jitters uniformly between zero and the ceiling (full jitter)', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const delays = Array.from({ length: 500 }, () => backoffDelay(4, 100, 10_000, random));
    assert.ok(delays.every((d) => d >= 0 && d < 800), 'within [0, base·2^(attempt−1))');
    assert.ok(new Set(delays).size > 100, 'spread out, not one fixed value');
    assert.ok(Math.min(...delays) < 200 && Math.max(...delays) > 600, 'covers the range');
    assert.equal(backoffDelay(3, 100, 1000, () => 0), 0);
  });
});

for (const factory of await testDatabases()) {
  describe(`JobQueue contract (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestDatabase;
    let clock: ManualClock;
    let queue: JobQueue;
    let n = 0;
    /** A fresh queue name per test keeps tests independent on one database. */
    const fresh = () => `q${++n}`;

    before(async () => {
      // The queue logic does not depend on fsync; NORMAL keeps the suite fast on a busy disk.
      t = await factory.create({ synchronous: 'NORMAL' });
      clock = new ManualClock();
      queue = new JobQueue(t.db, settings, { clock, random: () => 0.5 });
    });
    after(async () => {
      await t?.dispose();
    });

    it('enqueues with defaults and returns the stored job', async () => {
      const q = fresh();
      const job = await queue.enqueue('demo.echo', { text: 'hi', n: [1, 2] }, { queue: q });
      assert.match(job.id, /^job_/);
      assert.equal(job.state, 'queued');
      assert.equal(job.priority, 0);
      assert.equal(job.attempts, 0);
      assert.equal(job.maxAttempts, 3);
      assert.equal(job.runAt, new Date(clock.now()).toISOString());
      assert.deepEqual(await queue.get(job.id), job);
    });

    it('returns the existing job for a repeated idempotency key on the same queue, also under concurrent enqueues', async () => {
      const q = fresh();
      const first = await queue.enqueue('demo.echo', { v: 1 }, { queue: q, idempotencyKey: 'order-7' });
      const again = await queue.enqueue('demo.echo', { v: 2 }, { queue: q, idempotencyKey: 'order-7' });
      assert.equal(again.id, first.id);
      assert.deepEqual(again.payload, { v: 1 }, 'the first payload wins');
      const other = await queue.enqueue('demo.echo', { v: 3 }, { queue: fresh(), idempotencyKey: 'order-7' });
      assert.notEqual(other.id, first.id, 'keys are scoped to a queue');

      const racing = await Promise.all(Array.from({ length: 8 }, (_, i) => queue.enqueue('demo.echo', { i }, { queue: q, idempotencyKey: 'race' })));
      assert.equal(new Set(racing.map((j) => j.id)).size, 1);
      const page = await queue.list({ queue: q });
      assert.equal(page.jobs.length, 2);
    });

    it('refuses bad input with a code and a message and stores nothing', async () => {
      const q = fresh();
      await rejectsWith(queue.enqueue('Bad Type', {}, { queue: q }), 'CAPSTAN_NAME_INVALID', /job type "Bad Type" is not valid/);
      await rejectsWith(queue.enqueue('ok', {}, { queue: '../etc' }), 'CAPSTAN_NAME_INVALID', /queue name/);
      await rejectsWith(queue.enqueue('ok', {}, { queue: q, maxAttempts: 0 }), 'CAPSTAN_REQUEST_INVALID', /maxAttempts must be an integer >= 1/);
      await rejectsWith(queue.enqueue('ok', {}, { queue: q, priority: 1.5 }), 'CAPSTAN_REQUEST_INVALID', /priority must be an integer/);
      await rejectsWith(queue.enqueue('ok', {}, { queue: q, idempotencyKey: '' }), 'CAPSTAN_REQUEST_INVALID', /idempotencyKey/);
      assert.equal((await queue.list({ queue: q })).jobs.length, 0);
    });

    it('leases by priority (highest first), then by run-at', async () => {
      const q = fresh();
      const low = await queue.enqueue('t', {}, { queue: q, priority: 0 });
      clock.advance(1);
      const high = await queue.enqueue('t', {}, { queue: q, priority: 5 });
      const mid = await queue.enqueue('t', {}, { queue: q, priority: 1 });
      const midEarlier = await queue.enqueue('t', {}, { queue: q, priority: 1, runAt: clock.now() - 10 });
      const one = await queue.lease('w1', { queues: [q] });
      assert.deepEqual(one.map((j) => j.id), [high.id]);
      const rest = await queue.lease('w1', { queues: [q], limit: 10 });
      assert.deepEqual(rest.map((j) => j.id), [midEarlier.id, mid.id, low.id]);
      assert.ok(rest.every((j) => j.state === 'running' && j.leaseOwner === 'w1' && j.attempts === 1));
    });

    it('does not lease a job before its run-at', async () => {
      const q = fresh();
      const job = await queue.enqueue('t', {}, { queue: q, runAt: clock.now() + 5000 });
      assert.deepEqual(await queue.lease('w1', { queues: [q] }), []);
      clock.advance(5000);
      assert.deepEqual((await queue.lease('w1', { queues: [q] })).map((j) => j.id), [job.id]);
    });

    it('filters leases by job type', async () => {
      const q = fresh();
      await queue.enqueue('a', {}, { queue: q });
      const b = await queue.enqueue('b', {}, { queue: q });
      assert.deepEqual((await queue.lease('w1', { queues: [q], types: ['b'], limit: 5 })).map((j) => j.id), [b.id]);
    });

    it('acks with a result', async () => {
      const q = fresh();
      await queue.enqueue('t', {}, { queue: q });
      const [job] = await queue.lease('w1', { queues: [q] });
      const done = await queue.ack(job.id, 'w1', { score: 0.9 });
      assert.equal(done.state, 'succeeded');
      assert.deepEqual(done.result, { score: 0.9 });
      assert.equal(done.finishedAt, new Date(clock.now()).toISOString());
      assert.equal(done.leaseExpiresAt, null);
    });

    it('re-queues a failed job with growing jittered backoff, then marks it dead after max attempts', async () => {
      const q = fresh();
      const job = await queue.enqueue('t', {}, { queue: q });
      const delays: number[] = [];
      for (let attempt = 1; attempt <= 2; attempt++) {
        const [leased] = await queue.lease('w1', { queues: [q] });
        assert.equal(leased.attempts, attempt);
        const failed = await queue.fail(job.id, 'w1', new Error(`boom ${attempt}`));
        assert.equal(failed.state, 'queued');
        assert.equal(failed.lastError, `boom ${attempt}`);
        assert.equal(failed.leaseOwner, null);
        delays.push(Date.parse(failed.runAt) - clock.now());
        assert.deepEqual(await queue.lease('w1', { queues: [q] }), [], 'not leased during backoff');
        clock.advance(delays[delays.length - 1]);
      }
      // random() is 0.5: half of base·2^(attempt−1).
      assert.deepEqual(delays, [50, 100]);
      await queue.lease('w1', { queues: [q] });
      const dead = await queue.fail(job.id, 'w1', new TypeError('still broken'));
      assert.equal(dead.state, 'dead');
      assert.equal(dead.attempts, 3);
      assert.equal(dead.lastError, 'TypeError: still broken');
      assert.notEqual(dead.finishedAt, null);
      assert.deepEqual(await queue.lease('w1', { queues: [q] }), []);
    });

    it('re-queues a failure that names its own retry delay (retryAfterSeconds) after that delay, capped at backoffMaxMs', async () => {
      const q = fresh();
      const job = await queue.enqueue('t', {}, { queue: q });
      await queue.lease('w1', { queues: [q] });
      const starting = new CapstanError('CAPSTAN_SERVING_COLD_START_QUEUE_FULL', 'starting; retry in 0.3 s', { fields: { retryAfterSeconds: 0.3 } });
      const failed = await queue.fail(job.id, 'w1', starting);
      assert.equal(Date.parse(failed.runAt) - clock.now(), 300, 'the promised delay, not the jittered backoff (50 ms here)');
      clock.advance(300);
      await queue.lease('w1', { queues: [q] });
      const capped = await queue.fail(job.id, 'w1', new CapstanError('CAPSTAN_SERVING_COLD_START_QUEUE_FULL', 'starting; retry in 60 s', { fields: { retryAfterSeconds: 60 } }));
      assert.equal(Date.parse(capped.runAt) - clock.now(), settings.backoffMaxMs);
    });

    it('sends a non-retryable failure straight to dead', async () => {
      const q = fresh();
      const job = await queue.enqueue('t', {}, { queue: q });
      await queue.lease('w1', { queues: [q] });
      const dead = await queue.fail(job.id, 'w1', new Error('bad payload'), { retryable: false });
      assert.equal(dead.state, 'dead');
      assert.equal(dead.attempts, 1);
    });

    it('gives an expired lease to another worker, which counts a second attempt; the first loses the job', async () => {
      const q = fresh();
      const job = await queue.enqueue('t', {}, { queue: q });
      await queue.lease('w1', { queues: [q] });
      clock.advance(999);
      assert.deepEqual(await queue.lease('w2', { queues: [q] }), [], 'still leased');
      clock.advance(2);
      const [taken] = await queue.lease('w2', { queues: [q] });
      assert.equal(taken.id, job.id);
      assert.equal(taken.attempts, 2);
      assert.equal(taken.leaseOwner, 'w2');
      await rejectsWith(queue.heartbeat(job.id, 'w1'), 'CAPSTAN_QUEUE_LEASE_LOST', /worker w1 no longer holds the lease .* running under worker w2/);
      await rejectsWith(queue.ack(job.id, 'w1', 'late'), 'CAPSTAN_QUEUE_LEASE_LOST', /no longer holds/);
      await rejectsWith(queue.fail(job.id, 'w1', new Error('late')), 'CAPSTAN_QUEUE_LEASE_LOST', /no longer holds/);
      const still = await queue.get(job.id);
      assert.equal(still.state, 'running');
      assert.equal(still.leaseOwner, 'w2');
      assert.equal((await queue.ack(job.id, 'w2', 'ok')).state, 'succeeded');
    });

    it('fences a handler\'s writes: assertLease passes for the holder, inside its transaction, and fails once the job moved on', async () => {
      const q = fresh();
      const job = await queue.enqueue('t', {}, { queue: q });
      await queue.lease('w-fence-1', { queues: [q] });
      await queue.assertLease(job.id, 'w-fence-1');
      await t.db.transaction(async (trx) => {
        await queue.assertLease(job.id, 'w-fence-1', trx);
      });
      clock.advance(1001);
      await queue.lease('w-fence-2', { queues: [q] });
      await rejectsWith(
        t.db.transaction(async (trx) => queue.assertLease(job.id, 'w-fence-1', trx)),
        'CAPSTAN_QUEUE_LEASE_LOST',
        /worker w-fence-1 no longer holds the lease/,
      );
    });

    it('keeps a heartbeating lease from expiring', async () => {
      const q = fresh();
      const job = await queue.enqueue('t', {}, { queue: q });
      await queue.lease('w1', { queues: [q] });
      for (let i = 0; i < 5; i++) {
        clock.advance(800);
        await queue.heartbeat(job.id, 'w1');
        assert.deepEqual(await queue.lease('w2', { queues: [q] }), []);
      }
      const got = await queue.get(job.id);
      assert.equal(got.leaseExpiresAt, new Date(clock.now() + 1000).toISOString());
      assert.equal(got.attempts, 1);
    });

    it('marks a job dead when its lease expires on the final attempt', async () => {
      const q = fresh();
      const job = await queue.enqueue('t', {}, { queue: q, maxAttempts: 1 });
      await queue.lease('w1', { queues: [q] });
      clock.advance(1001);
      assert.deepEqual(await queue.lease('w2', { queues: [q] }), []);
      const dead = await queue.get(job.id);
      assert.equal(dead.state, 'dead');
      assert.match(dead.lastError!, /lease expired on the final attempt/);
    });

    const deadEvents = async (jobId: string) =>
      (await t.db.kysely.selectFrom('outbox_events').selectAll().where('type', '=', 'job.dead').where('subject', '=', `jobs/${jobId}`).execute()).map((e) => JSON.parse(e.payload as string));

    it('records a job.dead event with the payload\'s ids when the reaper kills a job, in the same commit', async () => {
      const q = fresh();
      const job = await queue.enqueue('async.invoke', { id: 'inv_1' }, { queue: q, maxAttempts: 1 });
      await queue.lease('w1', { queues: [q] });
      assert.deepEqual(await deadEvents(job.id), [], 'no event while the job may still finish');
      clock.advance(1001);
      await queue.lease('w2', { queues: [q] });
      assert.deepEqual(await deadEvents(job.id), [
        { jobId: job.id, type: 'async.invoke', queue: q, attempts: 1, maxAttempts: 1, error: 'the lease expired on the final attempt (the worker stopped heartbeating)', refs: { id: 'inv_1' } },
      ]);
      await queue.lease('w3', { queues: [q] });
      assert.equal((await deadEvents(job.id)).length, 1, 'a later reap does not raise it again');
    });

    it('records a job.dead event when a failed attempt is the last, and none for an attempt that will be retried', async () => {
      const q = fresh();
      const job = await queue.enqueue('t', { requestId: 'dreq_1', shard: 3, input: { card: '4111' }, long: 'x'.repeat(201) }, { queue: q, maxAttempts: 2 });
      await queue.lease('w1', { queues: [q] });
      await queue.fail(job.id, 'w1', new Error('first'));
      assert.deepEqual(await deadEvents(job.id), []);
      clock.advance(10_000);
      await queue.lease('w1', { queues: [q] });
      await queue.fail(job.id, 'w1', new Error('second'));
      const [event] = await deadEvents(job.id);
      assert.equal(event.attempts, 2);
      assert.match(event.error, /second/);
      assert.deepEqual(event.refs, { requestId: 'dreq_1', shard: 3 }, 'only the payload\'s ids: nested data and long strings stay with the job');
    });

    it('releases a worker\'s leases without spending attempts', async () => {
      const q = fresh();
      for (let i = 0; i < 3; i++) await queue.enqueue('t', {}, { queue: q });
      const mine = await queue.lease('w-release-1', { queues: [q], limit: 2 });
      const [other] = await queue.lease('w-release-2', { queues: [q] });
      assert.equal(await queue.releaseLeases('w-release-1'), 2);
      for (const j of mine) {
        const back = await queue.get(j.id);
        assert.equal(back.state, 'queued');
        assert.equal(back.attempts, 0);
        assert.equal(back.leaseOwner, null);
      }
      assert.equal((await queue.get(other.id)).state, 'running', 'other workers keep theirs');
      assert.equal((await queue.lease('w3', { queues: [q], limit: 5 })).length, 2);
    });

    it('cancels only queued jobs and retries only dead or cancelled ones, with codes and unchanged state otherwise', async () => {
      const q = fresh();
      const a = await queue.enqueue('t', {}, { queue: q });
      const cancelled = await queue.cancel(a.id);
      assert.equal(cancelled.state, 'cancelled');
      await rejectsWith(queue.cancel(a.id), 'CAPSTAN_QUEUE_JOB_STATE_INVALID', new RegExp(`job ${a.id} is cancelled; only queued jobs can be cancelled`));
      const retried = await queue.retry(a.id);
      assert.equal(retried.state, 'queued');

      const [running] = await queue.lease('w1', { queues: [q] });
      await rejectsWith(queue.cancel(running.id), 'CAPSTAN_QUEUE_JOB_STATE_INVALID', /is running; only queued jobs/);
      await rejectsWith(queue.retry(running.id), 'CAPSTAN_QUEUE_JOB_STATE_INVALID', /is running; only dead or cancelled jobs can be retried/);
      assert.equal((await queue.get(running.id)).state, 'running');
      await queue.fail(running.id, 'w1', new Error('fatal'), { retryable: false });
      const again = await queue.retry(running.id);
      assert.equal(again.state, 'queued');
      assert.equal(again.attempts, 0, 'attempts reset: a retried job gets maxAttempts again');
      assert.equal(again.lastError, 'fatal', 'the last error stays as history');
      await queue.lease('w1', { queues: [q] });
      await queue.ack(running.id, 'w1');
      await rejectsWith(queue.retry(running.id), 'CAPSTAN_QUEUE_JOB_STATE_INVALID', /is succeeded/);

      await rejectsWith(queue.get('job_missing'), 'CAPSTAN_QUEUE_JOB_NOT_FOUND', /no job "job_missing"/);
      await rejectsWith(queue.retry('job_missing'), 'CAPSTAN_QUEUE_JOB_NOT_FOUND', /no job/);
      await rejectsWith(queue.heartbeat('job_missing', 'w1'), 'CAPSTAN_QUEUE_JOB_NOT_FOUND', /no job/);
    });

    it('lists with filters and cursor pages, newest first, and counts by state', async () => {
      const q = fresh();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        clock.advance(1);
        ids.push((await queue.enqueue(i % 2 ? 'odd' : 'even', { i }, { queue: q })).id);
      }
      const first = await queue.list({ queue: q, limit: 2 });
      assert.deepEqual(first.jobs.map((j) => j.id), [ids[4], ids[3]]);
      const second = await queue.list({ queue: q, limit: 2, cursor: first.nextCursor! });
      assert.deepEqual(second.jobs.map((j) => j.id), [ids[2], ids[1]]);
      const last = await queue.list({ queue: q, limit: 2, cursor: second.nextCursor! });
      assert.deepEqual(last.jobs.map((j) => j.id), [ids[0]]);
      assert.equal(last.nextCursor, null);
      assert.deepEqual((await queue.list({ queue: q, type: 'odd' })).jobs.map((j) => j.id), [ids[3], ids[1]]);
      await queue.cancel(ids[0]);
      assert.deepEqual((await queue.list({ queue: q, state: 'cancelled' })).jobs.map((j) => j.id), [ids[0]]);
      await rejectsWith(queue.list({ limit: 0 }), 'CAPSTAN_REQUEST_INVALID', /limit must be an integer from 1 to 500/);
      await rejectsWith(queue.list({ state: 'done' as never }), 'CAPSTAN_REQUEST_INVALID', /state must be one of/);

      const stats = await queue.stats();
      assert.deepEqual(Object.keys(stats).sort(), ['cancelled', 'dead', 'queued', 'running', 'succeeded']);
      assert.ok(stats.cancelled >= 1 && stats.queued >= 4);
    });

    it('enqueues a batch atomically', async () => {
      const q = fresh();
      await rejectsWith(
        queue.enqueueMany([{ type: 't', payload: 1, options: { queue: q } }, { type: 'BAD', payload: 2, options: { queue: q } }]),
        'CAPSTAN_NAME_INVALID',
        /job type/,
      );
      assert.equal((await queue.list({ queue: q })).jobs.length, 0, 'nothing from a failed batch');
      const jobs = await queue.enqueueMany([{ type: 't', payload: 1, options: { queue: q } }, { type: 't', payload: 2, options: { queue: q } }]);
      assert.equal(jobs.length, 2);
    });
  });
}
