import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { dueSlot } from '../src/pipelines/triggers/trigger-watcher.js';
import { isCapstanError } from '../src/core/errors.js';
import { WebhookDeliveryStore } from '../src/pipelines/triggers/webhook-delivery-store.js';
import { WEBHOOK_TOLERANCE_S, signWebhook, verifyWebhookSignature } from '../src/pipelines/triggers/webhook-signature.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { artifactArrivals, pipelinesFixture, type PipelinesFixture } from './pipelines-support.js';

describe('cron slots and webhook signatures', () => {
  it('finds the latest due slot in the schedule time zone, and none before it', () => {
    const after = Date.parse('2024-01-01T00:00:00Z');
    // 03:00 in Berlin is 02:00 UTC in winter.
    assert.equal(dueSlot('0 3 * * *', 'Europe/Berlin', after, Date.parse('2024-01-01T02:30:00Z')), Date.parse('2024-01-01T02:00:00Z'));
    assert.equal(dueSlot('0 3 * * *', 'Europe/Berlin', after, Date.parse('2024-01-01T01:59:00Z')), undefined);
    assert.equal(dueSlot('0 3 * * *', 'Europe/Berlin', after, Date.parse('2024-01-05T12:00:00Z')), Date.parse('2024-01-05T02:00:00Z'), 'only the latest missed slot');
  });

  it('accepts a fresh matching signature and refuses a wrong, stale or missing one', () => {
    const body = Buffer.from('{"params":{}}');
    const now = 1_700_000_000;
    assert.equal(verifyWebhookSignature('s3cret', body, signWebhook('s3cret', body, now), now), true);
    assert.equal(verifyWebhookSignature('other', body, signWebhook('s3cret', body, now), now), false);
    assert.equal(verifyWebhookSignature('s3cret', Buffer.from('{}'), signWebhook('s3cret', body, now), now), false);
    assert.equal(verifyWebhookSignature('s3cret', body, signWebhook('s3cret', body, now - 600), now), false);
    assert.equal(verifyWebhookSignature('s3cret', body, undefined, now), false);
  });
});

for (const factory of await testDatabases()) {
  describe(`pipeline triggers (${factory.name})`, { skip: factory.skip }, () => {
    let fx: PipelinesFixture;
    before(async () => {
      fx = await pipelinesFixture(factory);
    });
    after(async () => {
      await fx?.dispose();
    });

    it('starts one execution per new object under the prefix, also across watcher restarts', () => artifactArrivals(fx));

    it('fires a cron slot once', async () => {
      await fx.service.apply(parsePipelineYaml(`name: nightly
steps:
  - { name: s, type: processing, command: "true" }
triggers:
  - { name: every-minute, type: cron, schedule: "* * * * *", timezone: UTC }
`, 't.yaml', fx.dir));
      const w = fx.watcher({ artifactPollMs: 1e9 });
      const later = Date.now() + 5 * 60_000;
      const fired = (await w.tick(later)).filter((e) => e.pipeline === 'nightly');
      assert.equal(fired.length, 1);
      assert.equal(fired[0].trigger.type, 'cron');
      assert.equal((await w.tick(later)).filter((e) => e.pipeline === 'nightly').length, 0);
    });
  });
}

const HOOKED = `name: hooked
steps:
  - { name: s, type: processing, command: "true" }
triggers:
  - { name: ci, type: webhook }
`;

for (const factory of await testDatabases()) {
  describe(`webhook replay protection (${factory.name})`, { skip: factory.skip }, () => {
    let fx: PipelinesFixture;
    let secret: string;
    before(async () => {
      fx = await pipelinesFixture(factory);
      secret = (await fx.service.apply(parsePipelineYaml(HOOKED, 't.yaml', fx.dir))).webhookSecrets.ci;
    });
    after(async () => {
      await fx?.dispose();
    });
    const executions = async () => (await fx.service.executions({ pipeline: 'hooked' })).length;

    it('starts one execution for a delivery posted three times within the window', async () => {
      const body = Buffer.from('{"params":{}}');
      const signature = signWebhook(secret, body);
      const before = await executions();
      const outcomes = [];
      for (let i = 0; i < 3; i++) outcomes.push(await fx.service.webhooks.receive({ pipeline: 'hooked', trigger: 'ci', body, signature }));
      assert.deepEqual(outcomes.map((o) => o.started), [true, false, false]);
      assert.equal(await executions(), before + 1);
    });

    it('starts exactly one execution for two concurrent identical deliveries', async () => {
      const body = Buffer.from('{"params":{},"n":"concurrent"}');
      const signature = signWebhook(secret, body);
      const before = await executions();
      const outcomes = await Promise.all([1, 2].map(() => fx.service.webhooks.receive({ pipeline: 'hooked', trigger: 'ci', body, signature })));
      assert.equal(outcomes.filter((o) => o.started).length, 1);
      assert.equal(await executions(), before + 1);
    });

    it('starts exactly one execution for concurrent re-signed retries carrying one delivery id', async () => {
      const body = Buffer.from('{"params":{},"n":"retry"}');
      const now = Math.floor(Date.now() / 1000);
      const before = await executions();
      const outcomes = await Promise.all([now - 2, now - 1, now].map((t) => fx.service.webhooks.receive({ pipeline: 'hooked', trigger: 'ci', body, signature: signWebhook(secret, body, t), deliveryId: 'gh-123' })));
      assert.equal(outcomes.filter((o) => o.started).length, 1);
      assert.equal(await executions(), before + 1);
    });

    it('forgets deliveries once their signature could no longer verify, and refuses the stale replay by its age', async () => {
      const body = Buffer.from('{"params":{},"n":"old"}');
      const signedAt = Math.floor(Date.now() / 1000);
      const signature = signWebhook(secret, body, signedAt);
      assert.equal((await fx.service.webhooks.receive({ pipeline: 'hooked', trigger: 'ci', body, signature }, signedAt * 1000)).started, true);
      const deliveries = new WebhookDeliveryStore(fx.db);
      assert.ok((await deliveries.count()) > 1);
      const later = (signedAt + WEBHOOK_TOLERANCE_S + 1) * 1000;
      await assert.rejects(fx.service.webhooks.receive({ pipeline: 'hooked', trigger: 'ci', body, signature }, later), (err) => isCapstanError(err, 'CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID'));
      // A fresh delivery purges what expired.
      const fresh = Buffer.from('{"params":{},"n":"fresh"}');
      await fx.service.webhooks.receive({ pipeline: 'hooked', trigger: 'ci', body: fresh, signature: signWebhook(secret, fresh, later / 1000) }, later);
      assert.equal(await deliveries.count(), 1, 'only the fresh delivery is remembered; the expired ones were purged');
    });

    it('forgets a claimed delivery whose start failed, so the sender can retry it', async () => {
      const body = Buffer.from('{"params":{"unknown":1}}');
      const signature = signWebhook(secret, body);
      for (let i = 0; i < 2; i++) {
        await assert.rejects(fx.service.webhooks.receive({ pipeline: 'hooked', trigger: 'ci', body, signature }), (err) => isCapstanError(err, 'CAPSTAN_PIPELINE_PARAMETER_INVALID'));
      }
    });
  });
}
