import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BatchContext } from '../src/batch/index.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { deployAdder } from '../src/serving/test-support/adder-endpoint.js';
import { abandonOnFinalAttempt } from '../src/storage/test-support/abandon-on-final-attempt.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { openBatchFixture, type BatchFixture } from './batch-support.js';

for (const factory of await testDatabases()) {
  describe(`retrying the dead job of an asynchronous invocation, on ${factory.name}`, { skip: factory.skip }, () => {
    let fx: BatchFixture;
    let batch: BatchContext;

    before(async () => {
      fx = await openBatchFixture(factory);
      await deployAdder(fx.test.platform, fx.test.home);
      batch = fx.batch;
    });
    after(() => fx?.dispose());

    /** Sends `body`, then leaves its job dead as a worker killed on the final attempt does, and lets the invocation fail. */
    async function failByDeadJob(body: string) {
      const accepted = await batch.async.invoke('adder', { body });
      const queue = fx.test.platform.queue;
      const job = (await queue.list({ type: 'async.invoke' })).jobs.find((j) => (j.payload as { id: string }).id === accepted.id)!;
      await abandonOnFinalAttempt(fx.test.platform.db, job.id);
      await queue.lease('another-worker', { types: ['nothing-to-run'] });
      await fx.test.platform.outbox.drain();
      const failed = await batch.async.get(accepted.id);
      assert.equal(failed.state, 'Failed');
      assert.match(failed.failureReason ?? '', /^CAPSTAN_ASYNC_WORKER_LOST: /);
      return { id: accepted.id, jobId: job.id, failed };
    }

    async function retryAndRun(jobId: string, id: string) {
      await fx.test.platform.queue.retry(jobId);
      const stop = await fx.work(['async']);
      try {
        return await pollUntil(`invocation ${id} to end again`, async () => {
          const v = await batch.async.get(id);
          return v.state === 'Completed' || (v.state === 'Failed' && !v.failureReason?.startsWith('CAPSTAN_ASYNC_WORKER_LOST')) ? v : undefined;
        }, { deadlineMs: 60_000 });
      } finally {
        await stop();
      }
    }

    it('runs the invocation again when an operator retries its dead job: it completes and the stale failure file is gone', async () => {
      const { id, jobId, failed } = await failByDeadJob(JSON.stringify({ a: 1, b: 2 }));
      assert.equal(JSON.parse(await fx.read(failed.failureLocation)).code, 'CAPSTAN_ASYNC_WORKER_LOST');

      const done = await retryAndRun(jobId, id);
      assert.equal(done.state, 'Completed');
      assert.equal(done.failureReason, null);
      assert.deepEqual(JSON.parse(await fx.read(done.outputLocation)), { sum: 3 });
      await assert.rejects(fx.read(failed.failureLocation), (err: Error & { code?: string }) => err.code === 'CAPSTAN_ARTIFACT_NOT_FOUND');
      assert.equal((await fx.test.platform.queue.get(jobId)).state, 'succeeded');
    });

    it('fails the retried run again, naming what is missing, when the body had been stored for that request alone', async () => {
      const { id, jobId } = await failByDeadJob(JSON.stringify({ a: 1, b: 2, pad: 'x'.repeat(300 * 1024) }));
      const again = await retryAndRun(jobId, id);
      assert.equal(again.state, 'Failed');
      assert.match(again.failureReason ?? '', /^CAPSTAN_ARTIFACT_NOT_FOUND: .*async\/adder\/input\//);
    });
  });
}
