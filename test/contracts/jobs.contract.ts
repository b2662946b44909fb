import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobsService } from '../../src/storage/queue/jobs-service.js';
import { rejectsWithCode, type MakeTarget } from './contract-target.js';

/** The jobs contract: what `capstan jobs` relies on, embedded or through `--url`. */
export function describeJobsContract(name: string, target: MakeTarget<JobsService>): void {
  describe(`jobs contract (${name})`, () => {
    it('lists jobs newest first filtered by queue and type, a page at a time, and gets one by id', async () => {
      const { service, platform, name: n } = target();
      const queue = n('listing');
      const a = await platform.queue.enqueue('contract.a', { n: 1 }, { queue });
      const b = await platform.queue.enqueue('contract.b', { n: 2 }, { queue });
      const c = await platform.queue.enqueue('contract.a', { n: 3 }, { queue });
      // Newest first means by id, descending; ids made within one millisecond are not ordered among themselves.
      const byId = (...jobs: { id: string }[]) => jobs.map((j) => j.id).sort().reverse();
      const all = await service.list({ queue });
      assert.deepEqual(all.jobs.map((j) => j.id), byId(a, b, c));
      assert.equal(all.nextCursor, null);
      assert.deepEqual((await service.list({ queue, type: 'contract.a' })).jobs.map((j) => j.id), byId(a, c));
      const first = await service.list({ queue, limit: 2 });
      assert.deepEqual(first.jobs.map((j) => j.id), byId(a, b, c).slice(0, 2));
      assert.ok(first.nextCursor);
      const second = await service.list({ queue, limit: 2, cursor: first.nextCursor });
      assert.deepEqual(second.jobs.map((j) => j.id), byId(a, b, c).slice(2));
      assert.equal(second.nextCursor, null);
      const got = await service.get(b.id);
      assert.equal(got.type, 'contract.b');
      assert.equal(got.state, 'queued');
      assert.deepEqual(got.payload, { n: 2 });
    });

    it('cancels a queued job and retries a cancelled or dead one with fresh attempts; stats count by state', async () => {
      const { service, platform, name: n } = target();
      const queue = n('lifecycle');
      const job = await platform.queue.enqueue('contract.work', {}, { queue });
      const cancelled = await service.cancel(job.id);
      assert.equal(cancelled.state, 'cancelled');
      const requeued = await service.retry(job.id);
      assert.equal(requeued.state, 'queued');
      assert.equal(requeued.attempts, 0);

      const dying = await platform.queue.enqueue('contract.fail', {}, { queue: n('dead') });
      await platform.queue.lease('wrk_contract', { queues: [n('dead')] });
      await platform.queue.fail(dying.id, 'wrk_contract', new Error('bad input'), { retryable: false });
      assert.equal((await service.get(dying.id)).state, 'dead');
      const stats = await service.stats();
      assert.ok(stats.dead >= 1 && stats.queued >= 1, JSON.stringify(stats));
      const revived = await service.retry(dying.id);
      assert.equal(revived.state, 'queued');
      assert.match(revived.lastError ?? '', /bad input/, 'the last error stays as the record of why it stopped');
    });

    it('refuses a transition the job\'s state does not allow with CAPSTAN_QUEUE_JOB_STATE_INVALID, changing nothing', async () => {
      const { service, platform, name: n } = target();
      const job = await platform.queue.enqueue('contract.work', {}, { queue: n('refused') });
      const before = await service.get(job.id);
      await rejectsWithCode(service.retry(job.id), 'CAPSTAN_QUEUE_JOB_STATE_INVALID');
      assert.deepEqual(await service.get(job.id), before);
      await service.cancel(job.id);
      const cancelled = await service.get(job.id);
      await rejectsWithCode(service.cancel(job.id), 'CAPSTAN_QUEUE_JOB_STATE_INVALID');
      assert.deepEqual(await service.get(job.id), cancelled);
    });

    it('answers CAPSTAN_QUEUE_JOB_NOT_FOUND for an unknown id on get, retry and cancel', async () => {
      const { service } = target();
      await rejectsWithCode(service.get('job_nonexistent'), 'CAPSTAN_QUEUE_JOB_NOT_FOUND');
      await rejectsWithCode(service.retry('job_nonexistent'), 'CAPSTAN_QUEUE_JOB_NOT_FOUND');
      await rejectsWithCode(service.cancel('job_nonexistent'), 'CAPSTAN_QUEUE_JOB_NOT_FOUND');
    });

    it('refuses an out-of-range page size with CAPSTAN_REQUEST_INVALID', async () => {
      const { service } = target();
      await rejectsWithCode(service.list({ limit: 0 }), 'CAPSTAN_REQUEST_INVALID');
    });
  });
}
