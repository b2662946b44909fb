import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { dueSlot } from '../src/pipelines/triggers/trigger-watcher.js';
import { signWebhook, verifyWebhookSignature } from '../src/pipelines/triggers/webhook-signature.js';
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
