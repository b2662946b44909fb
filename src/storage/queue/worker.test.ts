import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CapstanError } from '../../core/errors.js';
import { testDatabases, type TestDatabase } from '../test-support/test-databases.js';
import type { Job, JobHandler } from './job.js';
import { JobQueue, type QueueSettings } from './job-queue.js';
import { NonRetryableError } from './non-retryable-error.js';
import { Worker, type WorkerOptions } from './worker.js';
import { pollUntil } from '../../core/test-support/poll-until.js';

const settings: QueueSettings = { leaseMs: 10_000, heartbeatMs: 500, maxAttempts: 3, backoffBaseMs: 1, backoffMaxMs: 5, pollMs: 10, concurrency: 3 };

/** Polls until `probe` returns a value; fails after a generous deadline instead of hanging. */
const until = <T>(probe: () => Promise<T | undefined> | T | undefined, what: string) => pollUntil(what, probe, { deadlineMs: 20_000, intervalMs: 10 });

/** A promise with its resolver, to hold a handler until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

for (const factory of await testDatabases()) {
  describe(`queue Worker (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestDatabase;
    let queue: JobQueue;
    let n = 0;
    const fresh = () => `w${++n}`;
    const workers: Worker[] = [];
    const startWorker = async (q: string, handlers: Record<string, JobHandler>, extra: Partial<WorkerOptions> = {}) => {
      const w = new Worker({ queue, handlers: new Map(Object.entries(handlers)), queues: [q], ...extra });
      workers.push(w);
      await w.start();
      return w;
    };
    const settled = (id: string) => until(async () => {
      const j = await queue.get(id);
      return j.state === 'queued' || j.state === 'running' ? undefined : j;
    }, `job ${id} to finish`);

    before(async () => {
      // The queue logic does not depend on fsync; NORMAL keeps the suite fast on a busy disk.
      t = await factory.create({ synchronous: 'NORMAL' });
      queue = new JobQueue(t.db, settings);
    });
    after(async () => {
      for (const w of workers) await w.stop();
      await t?.dispose();
    });

    it('runs jobs with their handlers, stores results, and never exceeds its concurrency', async () => {
      const q = fresh();
      let running = 0;
      let peak = 0;
      const worker = await startWorker(q, {
        double: async (job: Job<{ x: number }>) => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
          return { y: job.payload.x * 2 };
        },
      });
      const jobs = await queue.enqueueMany(Array.from({ length: 12 }, (_, x) => ({ type: 'double', payload: { x }, options: { queue: q } })));
      for (const job of jobs) {
        const done = await settled(job.id);
        assert.equal(done.state, 'succeeded');
        assert.deepEqual(done.result, { y: (job.payload as { x: number }).x * 2 });
        assert.equal(done.leaseOwner, worker.id);
      }
      assert.ok(peak <= 3, `peak concurrency ${peak}`);
      // The worker counts a success after its completion is stored, so a reader can see the job
      // succeeded a moment before the count moves.
      await until(() => (worker.stats.succeeded >= 12 ? true : undefined), 'the worker to count 12 successes');
      assert.equal(worker.stats.succeeded, 12);
    });

    it('retries a throwing handler and succeeds on a later attempt', async () => {
      const q = fresh();
      await startWorker(q, {
        flaky: async (job) => {
          if (job.attempts < 3) throw new Error(`flake ${job.attempts}`);
          return 'ok';
        },
      });
      const job = await queue.enqueue('flaky', {}, { queue: q });
      const done = await settled(job.id);
      assert.equal(done.state, 'succeeded');
      assert.equal(done.attempts, 3);
      assert.equal(done.lastError, 'flake 2');
    });

    it('sends a CapstanError built with retryable: false straight to dead, the signal pipeline steps use too', async () => {
      const q = fresh();
      await startWorker(q, {
        catalogued: async () => {
          throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'the payload names no model', { retryable: false });
        },
      });
      const job = await queue.enqueue('catalogued', {}, { queue: q });
      const done = await settled(job.id);
      assert.deepEqual([done.state, done.attempts], ['dead', 1]);
      assert.match(done.lastError!, /the payload names no model/);
    });

    it('sends a NonRetryableError, an error flagged retryable=false, and an unknown job type straight to dead', async () => {
      const q = fresh();
      await startWorker(q, {
        reject: async () => {
          throw new NonRetryableError('payload has no user id');
        },
        flagged: async () => {
          throw Object.assign(new Error('model missing'), { retryable: false });
        },
      });
      const a = await queue.enqueue('reject', {}, { queue: q });
      const b = await queue.enqueue('flagged', {}, { queue: q });
      const c = await queue.enqueue('nobody.handles.this', {}, { queue: q });
      const [da, db, dc] = [await settled(a.id), await settled(b.id), await settled(c.id)];
      assert.deepEqual([da.state, da.attempts, da.lastError], ['dead', 1, 'NonRetryableError: payload has no user id']);
      assert.deepEqual([db.state, db.attempts, db.lastError], ['dead', 1, 'model missing']);
      assert.equal(dc.state, 'dead');
      assert.match(dc.lastError!, /no handler for job type "nobody.handles.this" in worker wrk_\w+ \(it handles: flagged, reject\)/);
    });

    it('aborts the handler when its lease is lost and discards its outcome', async () => {
      const q = fresh();
      const seen = gate();
      let aborted: unknown;
      const worker = await startWorker(q, {
        long: async (_job, ctx) => {
          seen.open();
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
          aborted = ctx.signal.reason;
          return 'too late';
        },
      }, { heartbeatMs: 50 });
      const job = await queue.enqueue('long', {}, { queue: q });
      await seen.promise;
      // Another worker takes the job over, as after an expired lease.
      await t.db.kysely.updateTable('jobs').set({ lease_owner: 'wrk_other', lease_expires_at: Date.now() + 600_000 }).where('id', '=', job.id).execute();
      await until(() => aborted, 'the handler to be aborted');
      assert.equal((aborted as { code?: string }).code, 'CAPSTAN_QUEUE_LEASE_LOST');
      await until(() => (worker.stats.abandoned === 1 ? true : undefined), 'the outcome to be discarded');
      const after = await queue.get(job.id);
      assert.equal(after.state, 'running');
      assert.equal(after.leaseOwner, 'wrk_other');
    });

    it('stop() waits for running jobs to finish within the grace period', async () => {
      const q = fresh();
      const seen = gate();
      const release = gate();
      const worker = await startWorker(q, {
        slow: async () => {
          seen.open();
          await release.promise;
          return 'finished';
        },
      }, { graceMs: 20_000 });
      const job = await queue.enqueue('slow', {}, { queue: q });
      await seen.promise;
      const stopping = worker.stop();
      setTimeout(release.open, 50);
      await stopping;
      const done = await queue.get(job.id);
      assert.equal(done.state, 'succeeded');
      assert.equal(done.result, 'finished');
    });

    it('stop() aborts jobs still running after the grace period and releases their leases without spending an attempt', async () => {
      const q = fresh();
      const seen = gate();
      let signalled = false;
      const worker = await startWorker(q, {
        stuck: async (_job, ctx) => {
          seen.open();
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
          signalled = true;
          return 'aborted';
        },
      }, { graceMs: 0 });
      const job = await queue.enqueue('stuck', {}, { queue: q });
      await seen.promise;
      await worker.stop();
      assert.equal(signalled, true);
      const back = await queue.get(job.id);
      assert.equal(back.state, 'queued');
      assert.equal(back.attempts, 0);
      assert.equal(back.leaseOwner, null);
    });

    it('leases only from its own queues', async () => {
      const mine = fresh();
      const theirs = fresh();
      await startWorker(mine, { t: async () => 'ok' });
      const other = await queue.enqueue('t', {}, { queue: theirs });
      const own = await queue.enqueue('t', {}, { queue: mine });
      assert.equal((await settled(own.id)).state, 'succeeded');
      assert.equal((await queue.get(other.id)).state, 'queued');
    });
  });
}
