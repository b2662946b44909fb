import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CapstanError } from '../core/errors.js';
import { openTestPlatform, type TestPlatform } from '../platform/test-support/test-platform.js';
import { deployAdder } from '../serving/test-support/adder-endpoint.js';
import type { ServingContext } from '../serving/index.js';
import type { Job, JobContext } from '../storage/queue/job.js';
import { asyncJobHandler } from './async-job-handler.js';
import type { BatchContext } from './batch-context.js';
import { EndpointSlots } from './endpoint-slots.js';
import type { LocalAsyncService } from './local-async-service.js';
import { SqlAsyncStore } from './sql-async-store.js';

// The serving context as it is while a variant scaled to zero cannot take work: every call is turned away with a retried error.
const stillStarting = (() => ({
  invoke: async () => {
    throw new CapstanError('CAPSTAN_SERVING_COLD_START_QUEUE_FULL', 'the variant is starting from zero workers and 0 requests already wait; retry in 1 s');
  },
})) as unknown as () => ServingContext;

describe('async.invoke on a retried error', () => {
  let test: TestPlatform;
  let store: SqlAsyncStore;
  let batch: BatchContext;
  const context: JobContext = { signal: new AbortController().signal, heartbeat: async () => {}, workerId: 'test', assertLease: async () => {} };

  before(async () => {
    test = await openTestPlatform();
    await deployAdder(test.platform, test.home);
    store = new SqlAsyncStore(test.platform.db, (key) => test.platform.artifacts.uriFor(key));
    batch = test.platform.context<BatchContext>('batch');
  });
  after(() => test.dispose());

  const run = async (attempts: number) => {
    const accepted = await batch.async.invoke('adder', { body: JSON.stringify({ a: 1, b: 2 }) });
    const service = { maxConcurrency: async () => 1 } as unknown as LocalAsyncService;
    const handler = asyncJobHandler({ store, service, artifacts: test.platform.artifacts, serving: stillStarting, slots: new EndpointSlots() });
    const job = { payload: { id: accepted.id }, attempts, maxAttempts: 20 } as Job<{ id: string }>;
    let thrown: unknown;
    const result = await handler(job, context).catch((err: unknown) => {
      thrown = err;
    });
    return { accepted, result, thrown, invocation: await batch.async.get(accepted.id) };
  };

  it('leaves the invocation to the queue while attempts remain', async () => {
    const { thrown, invocation } = await run(19);
    assert.equal((thrown as CapstanError).code, 'CAPSTAN_SERVING_COLD_START_QUEUE_FULL');
    assert.equal(invocation.state, 'InProgress');
  });

  it('fails the invocation into its failure location on the last attempt instead of leaving it in progress', async () => {
    const { thrown, result, accepted, invocation } = await run(20);
    assert.equal(thrown, undefined);
    assert.deepEqual(result, { state: 'Failed' });
    assert.equal(invocation.state, 'Failed');
    assert.match(invocation.failureReason ?? '', /^CAPSTAN_SERVING_COLD_START_QUEUE_FULL: the variant is starting/);
    const failure = JSON.parse((await test.platform.artifacts.get(test.platform.artifacts.keyFor(accepted.failureLocation))).toString('utf8'));
    assert.equal(failure.code, 'CAPSTAN_SERVING_COLD_START_QUEUE_FULL');
  });
});
