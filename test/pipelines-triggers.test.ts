import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { dueSlot } from '../src/pipelines/triggers/trigger-watcher.js';
import { isCapstanError } from '../src/core/errors.js';
import { WebhookDeliveryStore } from '../src/pipelines/triggers/webhook-delivery-store.js';
import { WEBHOOK_TOLERANCE_S, signDeprecatedWebhook } from '../src/pipelines/triggers/webhook-signature.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { artifactArrivals, pipelinesFixture, signedBy, type PipelinesFixture } from './pipelines-support.js';

describe('cron slots', () => {
  it('finds the latest due slot in the schedule time zone, and none before it', () => {
    const after = Date.parse('2024-01-01T00:00:00Z');
    // 03:00 in Berlin is 02:00 UTC in winter.
    assert.equal(dueSlot('0 3 * * *', 'Europe/Berlin', after, Date.parse('2024-01-01T02:30:00Z')), Date.parse('2024-01-01T02:00:00Z'));
    assert.equal(dueSlot('0 3 * * *', 'Europe/Berlin', after, Date.parse('2024-01-01T01:59:00Z')), undefined);
    assert.equal(dueSlot('0 3 * * *', 'Europe/Berlin', after, Date.parse('2024-01-05T12:00:00Z')), Date.parse('2024-01-05T02:00:00Z'), 'only the latest missed slot');
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

    const receive = (body: Buffer, headers: Record<string, string>, nowMs?: number) => fx.service.webhooks.receive({ pipeline: 'hooked', trigger: 'ci', body, headers }, nowMs);
    const code = (c: string) => (err: unknown) => isCapstanError(err, c as never);

    it('gives a webhook trigger a Standard Webhooks secret', () => {
      assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    });

    it('starts one execution for a Standard Webhooks delivery posted three times within the window', async () => {
      const body = Buffer.from('{"params":{}}');
      const headers = signedBy.standard(secret, body);
      const before = await executions();
      const outcomes = [];
      for (let i = 0; i < 3; i++) outcomes.push(await receive(body, headers));
      assert.deepEqual(outcomes.map((o) => [o.started, o.scheme]), [[true, 'standard-webhooks'], [false, 'standard-webhooks'], [false, 'standard-webhooks']]);
      assert.equal(await executions(), before + 1);
    });

    it('starts exactly one execution for two concurrent identical deliveries', async () => {
      const body = Buffer.from('{"params":{},"n":"concurrent"}');
      const headers = signedBy.standard(secret, body);
      const before = await executions();
      const outcomes = await Promise.all([1, 2].map(() => receive(body, headers)));
      assert.equal(outcomes.filter((o) => o.started).length, 1);
      assert.equal(await executions(), before + 1);
    });

    it('starts exactly one execution for concurrent re-signed retries carrying one webhook-id', async () => {
      const body = Buffer.from('{"params":{},"n":"retry"}');
      const now = Math.floor(Date.now() / 1000);
      const before = await executions();
      const outcomes = await Promise.all([now - 2, now - 1, now].map((timestamp) => receive(body, signedBy.standard(secret, body, { id: 'msg_retry', timestamp }))));
      assert.equal(outcomes.filter((o) => o.started).length, 1);
      assert.equal(await executions(), before + 1);
    });

    it('refuses a tampered body, a wrong secret, a timestamp outside five minutes and missing headers, and starts nothing', async () => {
      const body = Buffer.from('{"params":{},"n":"refused"}');
      const now = Math.floor(Date.now() / 1000);
      const before = await executions();
      await assert.rejects(receive(Buffer.from('{"params":{},"n":"tampered"}'), signedBy.standard(secret, body)), code('CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID'));
      await assert.rejects(receive(body, signedBy.standard('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', body)), code('CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID'));
      await assert.rejects(receive(body, signedBy.standard(secret, body, { timestamp: now - WEBHOOK_TOLERANCE_S - 5 })), (err) => isCapstanError(err, 'CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID') && /more than 300 seconds old/.test(err.message));
      await assert.rejects(receive(body, signedBy.standard(secret, body, { timestamp: now + WEBHOOK_TOLERANCE_S + 5 })), (err) => isCapstanError(err, 'CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID') && /ahead of the server's clock/.test(err.message));
      const { 'webhook-id': _dropped, ...noId } = signedBy.standard(secret, body);
      await assert.rejects(receive(body, noId), (err) => isCapstanError(err, 'CAPSTAN_PIPELINE_WEBHOOK_HEADER_MISSING') && /webhook-id missing/.test(err.message));
      await assert.rejects(receive(body, {}), (err) => isCapstanError(err, 'CAPSTAN_PIPELINE_WEBHOOK_HEADER_MISSING') && /X-Hub-Signature-256/.test(err.message));
      assert.equal(await executions(), before);
    });

    it('accepts GitHub X-Hub-Signature-256 once per delivery and once per signed body, and refuses a tampered body', async () => {
      const body = Buffer.from('{"ref":"refs/heads/main","after":"abc123"}');
      const before = await executions();
      const headers = signedBy.github(secret, body, 'gh-delivery-1');
      const first = await receive(body, headers);
      assert.deepEqual([first.started, first.scheme], [true, 'github']);
      assert.equal((await receive(body, headers)).started, false, 'the same delivery again');
      assert.equal((await receive(body, signedBy.github(secret, body, 'gh-delivery-2'))).started, false, 'a captured body under a new delivery id');
      await assert.rejects(receive(Buffer.from('{"ref":"refs/heads/evil"}'), headers), code('CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID'));
      assert.equal(await executions(), before + 1);
    });

    it('accepts the GitLab X-Gitlab-Token once per idempotency key, and refuses a wrong token', async () => {
      const body = Buffer.from('{"object_kind":"push"}');
      const before = await executions();
      const first = await receive(body, signedBy.gitlab(secret, 'gl-1'));
      assert.deepEqual([first.started, first.scheme], [true, 'gitlab']);
      assert.equal((await receive(body, signedBy.gitlab(secret, 'gl-1'))).started, false, 'a retry with the same Idempotency-Key');
      await assert.rejects(receive(body, signedBy.gitlab(`${secret}x`, 'gl-2')), code('CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID'));
      assert.equal(await executions(), before + 1);
    });

    it('still accepts the deprecated X-Capstan-Signature once within its window', async () => {
      const body = Buffer.from('{"params":{},"n":"deprecated"}');
      const headers = { 'x-capstan-signature': signDeprecatedWebhook(secret, body) };
      const before = await executions();
      const outcomes = [await receive(body, headers), await receive(body, headers)];
      assert.deepEqual(outcomes.map((o) => [o.started, o.scheme]), [[true, 'capstan-deprecated'], [false, 'capstan-deprecated']]);
      await assert.rejects(receive(body, { 'x-capstan-signature': signDeprecatedWebhook(secret, body, Math.floor(Date.now() / 1000) - 600) }), code('CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID'));
      assert.equal(await executions(), before + 1);
    });

    it('forgets timed deliveries once their signature could no longer verify, and refuses the stale replay by its age', async () => {
      const deliveries = new WebhookDeliveryStore(fx.db);
      const body = Buffer.from('{"params":{},"n":"old"}');
      const signedAt = Math.floor(Date.now() / 1000);
      const headers = signedBy.standard(secret, body, { timestamp: signedAt });
      assert.equal((await receive(body, headers, signedAt * 1000)).started, true);
      assert.ok((await deliveries.count()) > 1);
      const later = (signedAt + WEBHOOK_TOLERANCE_S + 1) * 1000;
      await assert.rejects(receive(body, headers, later), code('CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID'));
      // A fresh delivery purges what expired; the GitHub and GitLab deliveries (no signed time) are kept for a week.
      const fresh = Buffer.from('{"params":{},"n":"fresh"}');
      await receive(fresh, signedBy.standard(secret, fresh, { timestamp: later / 1000 }), later);
      const keys = (await fx.db.as<{ pipeline_webhook_deliveries: { delivery_key: string } }>().selectFrom('pipeline_webhook_deliveries').select('delivery_key').execute()).map((r) => r.delivery_key.split(':')[0]);
      assert.deepEqual([...new Set(keys)].sort(), ['github', 'github-sig', 'gitlab', 'gitlab-event', 'swh'], 'the expired Standard Webhooks and deprecated keys were purged');
      assert.equal(keys.filter((k) => k === 'swh').length, 1, 'only the fresh Standard Webhooks delivery is remembered');
    });

    it('forgets a claimed delivery whose start failed, so the sender can retry it', async () => {
      const body = Buffer.from('{"params":{"unknown":1}}');
      const headers = signedBy.standard(secret, body);
      for (let i = 0; i < 2; i++) {
        await assert.rejects(receive(body, headers), code('CAPSTAN_PIPELINE_PARAMETER_INVALID'));
      }
    });
  });
}
