import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../platform/test-support/test-platform.js';
import { appendEvent } from '../storage/outbox/index.js';
import { deployAdder } from '../serving/test-support/adder-endpoint.js';
import type { BatchContext } from './batch-context.js';
import { ASYNC_JOB } from './local-async-service.js';
import { abandonOnFinalAttempt } from '../storage/test-support/abandon-on-final-attempt.js';

describe('records of jobs that died without their handler running', () => {
  let test: TestPlatform;
  let batch: BatchContext;

  before(async () => {
    test = await openTestPlatform();
    await deployAdder(test.platform, test.home);
    batch = test.platform.context<BatchContext>('batch');
  });
  after(() => test.dispose());

  /** Leaves the invocation's job as a worker SIGKILLed on the final attempt does: running, its lease run out. */
  const killWorkerOnFinalAttempt = async (invocationId: string) => {
    const jobs = await test.platform.queue.list({ type: ASYNC_JOB });
    const job = jobs.jobs.find((j) => (j.payload as { id: string }).id === invocationId)!;
    await abandonOnFinalAttempt(test.platform.db, job.id);
    return job.id;
  };

  it('an async invocation ends Failed with its failure file and event once the queue reaps the job, and stays so on redelivery', async () => {
    const accepted = await batch.async.invoke('adder', { body: JSON.stringify({ a: 1, b: 2 }) });
    const jobId = await killWorkerOnFinalAttempt(accepted.id);
    await test.platform.queue.lease('another-worker', { types: ['nothing-to-run'] });
    assert.equal((await test.platform.queue.get(jobId)).state, 'dead');
    assert.equal((await batch.async.get(accepted.id)).state, 'Queued', 'nothing ends it before the event is delivered');

    await test.platform.outbox.drain();
    const invocation = await batch.async.get(accepted.id);
    assert.equal(invocation.state, 'Failed');
    assert.match(invocation.failureReason ?? '', /^CAPSTAN_ASYNC_WORKER_LOST: invocation .* lost its worker on every attempt \(the lease expired on the final attempt/);
    const failure = JSON.parse((await test.platform.artifacts.get(test.platform.artifacts.keyFor(invocation.failureLocation))).toString('utf8'));
    assert.equal(failure.code, 'CAPSTAN_ASYNC_WORKER_LOST');
    const events = await test.platform.db.kysely.selectFrom('outbox_events').select('payload').where('type', '=', 'async_invocation.failed').execute();
    assert.equal(events.filter((e) => JSON.parse(e.payload as string).id === accepted.id).length, 1);

    // Delivery is at least once: the same death raised again finds the invocation ended and changes nothing.
    await appendEvent(test.platform.db.kysely, { type: 'job.dead', subject: `jobs/${jobId}`, data: { jobId, type: ASYNC_JOB, attempts: 20, maxAttempts: 20, error: 'again', refs: { id: accepted.id } } });
    await test.platform.outbox.drain();
    assert.equal((await batch.async.get(accepted.id)).failureReason, invocation.failureReason);
  });

  it('leaves alone an invocation whose dead job an operator retried before the death was delivered', async () => {
    const accepted = await batch.async.invoke('adder', { body: JSON.stringify({ a: 2, b: 3 }) });
    const jobId = await killWorkerOnFinalAttempt(accepted.id);
    await test.platform.queue.lease('another-worker', { types: ['nothing-to-run'] });
    assert.equal((await test.platform.queue.get(jobId)).state, 'dead');
    await test.platform.queue.retry(jobId);

    // The late notice of the first death must not fail the invocation the retried job now works for.
    await test.platform.outbox.drain();
    const invocation = await batch.async.get(accepted.id);
    assert.equal(invocation.state, 'Queued', invocation.failureReason ?? '');
    assert.equal((await test.platform.queue.get(jobId)).state, 'queued');
  });

  it('fails a batch job whose planning job died, naming the job type and its error', async () => {
    await test.platform.artifacts.put('dead-jobs/in/records.jsonl', '{"a":1,"b":2}\n');
    const job = await batch.batch.create({ model: 'models:/adder/1', input: test.platform.artifacts.uriFor('dead-jobs/in'), output: test.platform.artifacts.uriFor('dead-jobs/out') });
    const planJob = (await test.platform.queue.list({ type: 'batch.plan' })).jobs.find((j) => (j.payload as { jobId: string }).jobId === job.id)!;
    await abandonOnFinalAttempt(test.platform.db, planJob.id);
    await test.platform.queue.lease('another-worker', { types: ['nothing-to-run'] });
    await test.platform.outbox.drain();
    const ended = await batch.batch.get(job.id);
    assert.equal(ended.state, 'Failed');
    assert.match(ended.failureReason ?? '', /^its batch\.plan job died after \d+ attempts: the lease expired on the final attempt/);
  });
});
