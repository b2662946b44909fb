import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import { openServingTestPlatform, type ServingTestPlatform } from '../src/serving/test-support/serving-test-platform.js';
import { OutboxStore } from '../src/storage/outbox/index.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { pipelinesFixture, type PipelinesFixture } from './pipelines-support.js';

// Each converted context appends its domain events to the outbox in the transaction of the change.
for (const factory of await testDatabases()) {
  describe(`pipeline execution events in the outbox (${factory.name})`, { skip: factory.skip }, () => {
    let fx: PipelinesFixture;
    before(async () => {
      fx = await pipelinesFixture(factory);
    });
    after(async () => {
      await fx?.dispose();
    });

    it('appends pipeline_execution.succeeded and .failed with the execution and pipeline as the execution ends', async () => {
      const store = new OutboxStore(fx.db);
      await store.register('test.pipelines', ['pipeline_execution.*']);
      const ok = await fx.run('name: evt-ok\nsteps:\n  - name: a\n    type: processing\n    command: [sh, -c, "true"]\n');
      const bad = await fx.run('name: evt-bad\nsteps:\n  - name: a\n    type: processing\n    command: [sh, -c, "exit 3"]\n');
      assert.deepEqual([ok.state, bad.state], ['succeeded', 'failed']);
      const events = (await store.events()).filter((e) => e.type.startsWith('pipeline_execution.'));
      assert.deepEqual(
        events.map((e) => [e.type, e.subject, e.data]),
        [
          ['pipeline_execution.succeeded', `pipelines/evt-ok/executions/${ok.id}`, { pipeline: 'evt-ok', executionId: ok.id, state: 'succeeded' }],
          ['pipeline_execution.failed', `pipelines/evt-bad/executions/${bad.id}`, { pipeline: 'evt-bad', executionId: bad.id, state: 'failed' }],
        ],
      );
      assert.deepEqual((await store.deliveries(events[0].id)).map((d) => [d.subscription, d.state]), [['test.pipelines', 'pending']]);
    });
  });
}

describe('endpoint events in the outbox (sqlite)', () => {
  let t: ServingTestPlatform;
  before(async () => {
    t = await openServingTestPlatform();
    await t.registerNcf('ncf', { users: 10, items: 20, seed: 1 });
    await t.registerNcf('ncf', { users: 10, items: 20, seed: 2 });
  });
  after(async () => {
    await t?.dispose();
  });

  it('appends endpoint.created, .updated and .deleted with the variants served; a refused update appends nothing', async () => {
    const endpointEvents = async () => (await t.platform.outboxStore.events()).filter((e) => e.type.startsWith('endpoint.'));
    const ep = await t.platform.serving.create('evt', { variants: [{ name: 'blue', model: 'models:/ncf/1' }] }, { actor: 'tester' });
    assert.equal(ep.status, 'InService', ep.statusReason ?? '');
    await t.platform.serving.update('evt', { variants: [{ name: 'blue', model: 'models:/ncf/2' }] }, { actor: 'tester' });
    await assert.rejects(t.platform.serving.update('evt', { weights: { nobody: 1 } }), (err: unknown) => isCapstanError(err) && err.code === 'CAPSTAN_SERVING_VARIANT_NOT_FOUND');
    await t.platform.serving.delete('evt', { actor: 'tester' });
    assert.deepEqual(
      (await endpointEvents()).map((e) => [e.type, e.subject, e.data]),
      [
        ['endpoint.created', 'endpoints/evt', { endpoint: 'evt', generation: 1, variants: [{ name: 'blue', weight: 1, model: 'ncf', version: 1 }], actor: 'tester' }],
        ['endpoint.updated', 'endpoints/evt', { endpoint: 'evt', generation: 2, variants: [{ name: 'blue', weight: 1, model: 'ncf', version: 2 }], actor: 'tester' }],
        ['endpoint.deleted', 'endpoints/evt', { endpoint: 'evt', actor: 'tester' }],
      ],
    );
  });
});
