import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';
import { WEBHOOK_JOB_TYPE, WEBHOOK_QUEUE } from '../src/registry/sql-webhook-store.js';
import { WEBHOOK_SUBSCRIPTION } from '../src/registry/webhook-subscription.js';

describe('registry webhooks fed by the event outbox', () => {
  let t: TestPlatform;
  before(async () => {
    t = await openTestPlatform({ 'outbound.allowPrivate': true });
  });
  after(async () => {
    await t?.dispose();
  });

  // Other contexts (notifications) subscribe to the same events; this test follows the registry's own delivery.
  const webhookDeliveries = async (eventId: string) => (await t.platform.outboxStore.deliveries(eventId)).filter((d) => d.subscription === WEBHOOK_SUBSCRIPTION);
  const webhookJobs = async () => (await t.platform.queue.list({ queue: WEBHOOK_QUEUE, type: WEBHOOK_JOB_TYPE })).jobs;

  it('turns a committed event into one delivery job per matching webhook, and a redelivered event into no second job', async () => {
    const hook = await t.platform.registry.createWebhook({ url: 'http://127.0.0.1:9/hook', events: ['model_version.created'] });
    await t.platform.registry.registerVersion('hooked', { packageDir: writeNcfPackage(path.join(t.home, 'pkg')).dir });
    assert.deepEqual(await webhookJobs(), [], 'no job before the outbox delivers the event');
    const [event] = await t.platform.outboxStore.events('model_version.created');
    assert.deepEqual((await webhookDeliveries(event.id)).map((d) => [d.subscription, d.state]), [[WEBHOOK_SUBSCRIPTION, 'pending']]);

    await t.platform.outbox.drain();
    const jobs = await webhookJobs();
    assert.equal(jobs.length, 1);
    assert.deepEqual(jobs[0].payload, { webhookId: hook.id, event: { id: event.id, type: 'model_version.created', time: event.time, data: event.data } });

    // A crash before the acknowledgement delivers the event again: the job's idempotency key absorbs it.
    await t.platform.db.kysely.updateTable('outbox_deliveries').set({ state: 'pending' }).where('event_id', '=', event.id).execute();
    await t.platform.outbox.drain();
    assert.equal((await webhookDeliveries(event.id))[0].attempts, 2);
    assert.deepEqual((await webhookJobs()).map((j) => j.id), [jobs[0].id]);
  });
});
