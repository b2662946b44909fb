import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { signedBy } from './pipelines-support.js';

const YAML = `name: hooked
parameters:
  who: { type: string, default: world }
steps:
  - { name: s, type: processing, command: "true" }
triggers:
  - { name: ci, type: webhook }
`;

for (const factory of await testDatabases()) {
  describe(`pipeline webhooks over HTTP: schemes, tolerance and replays (${factory.name})`, { skip: factory.skip }, () => {
    let db: TestDatabase;
    let t: TestPlatform;
    let server: RunningServer;
    let secret: string;

    before(async () => {
      db = await factory.create();
      t = await openTestPlatform({ databaseUrl: db.url, 'server.port': 0 });
      server = await startServer(t.platform, { logRequests: false });
      const applied = await fetch(`${server.url}/api/v1/pipelines`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ yaml: YAML }) });
      assert.equal(applied.status, 200, await applied.clone().text());
      secret = ((await applied.json()) as { webhookSecrets: Record<string, string> }).webhookSecrets.ci;
    });
    after(async () => {
      await server?.shutdown();
      await t?.dispose();
      await db?.dispose();
    });

    const post = (body: string, headers: Record<string, string>) =>
      fetch(`${server.url}/api/v1/pipelines/hooked/webhooks/ci`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const executions = async () => (await t.platform.pipelines.executions({ pipeline: 'hooked' })).length;
    const refused = async (res: Response, code: string, detail: RegExp) => {
      assert.equal(res.status, 401);
      assert.match(String(res.headers.get('content-type')), /^application\/problem\+json/);
      const problem = (await res.json()) as { code: string; detail: string };
      assert.equal(problem.code, code);
      assert.match(problem.detail, detail);
    };

    for (const scheme of ['standard', 'github', 'gitlab'] as const) {
      it(`starts one execution for a ${scheme} delivery and acknowledges its replay as a duplicate that starts nothing`, async () => {
        const body = JSON.stringify({ params: { who: scheme } });
        const headers = scheme === 'gitlab' ? signedBy.gitlab(secret) : signedBy[scheme](secret, body);
        const before = await executions();
        const first = await post(body, headers);
        assert.equal(first.status, 202, await first.clone().text());
        const execution = (await first.json()) as { id: string; params: Record<string, unknown> };
        assert.deepEqual(execution.params, { who: scheme });
        const replay = await post(body, headers);
        assert.equal(replay.status, 200);
        assert.deepEqual(await replay.json(), { duplicate: true, started: false, executionId: execution.id });
        assert.equal(await executions(), before + 1);
      });
    }

    it('treats a re-signed Standard Webhooks retry (same webhook-id, new timestamp) as a duplicate', async () => {
      const body = JSON.stringify({ params: { who: 'retry' } });
      const now = Math.floor(Date.now() / 1000);
      const first = await post(body, signedBy.standard(secret, body, { id: 'msg_http_retry', timestamp: now - 10 }));
      assert.equal(first.status, 202);
      const retry = await post(body, signedBy.standard(secret, body, { id: 'msg_http_retry', timestamp: now }));
      assert.equal(retry.status, 200);
      assert.equal(((await retry.json()) as { duplicate: boolean }).duplicate, true);
    });

    it('refuses a tampered body under each scheme with CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID and starts nothing', async () => {
      const body = JSON.stringify({ params: { who: 'signed' } });
      const tampered = JSON.stringify({ params: { who: 'tampered' } });
      const before = await executions();
      await refused(await post(tampered, signedBy.standard(secret, body)), 'CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID', /standard-webhooks signature does not match/);
      await refused(await post(tampered, signedBy.github(secret, body)), 'CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID', /github signature does not match/);
      await refused(await post(tampered, signedBy.gitlab('not-the-token')), 'CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID', /gitlab signature does not match/);
      assert.equal(await executions(), before);
    });

    it('refuses a Standard Webhooks timestamp more than five minutes old or ahead, even when correctly signed, and starts nothing', async () => {
      const body = JSON.stringify({ params: { who: 'late' } });
      const now = Math.floor(Date.now() / 1000);
      const before = await executions();
      await refused(await post(body, signedBy.standard(secret, body, { timestamp: now - 301 - 5 })), 'CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID', /more than 300 seconds old/);
      await refused(await post(body, signedBy.standard(secret, body, { timestamp: now + 301 + 5 })), 'CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID', /ahead of the server's clock/);
      await refused(await post(body, { ...signedBy.standard(secret, body), 'webhook-timestamp': 'yesterday' }), 'CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID', /not a Unix time/);
      assert.equal(await executions(), before);
    });

    it('refuses a request without signature headers, or with only some Standard Webhooks headers, with CAPSTAN_PIPELINE_WEBHOOK_HEADER_MISSING', async () => {
      const body = JSON.stringify({ params: {} });
      const before = await executions();
      await refused(await post(body, {}), 'CAPSTAN_PIPELINE_WEBHOOK_HEADER_MISSING', /carries no webhook signature/);
      const { 'webhook-signature': _signature, ...unsigned } = signedBy.standard(secret, body);
      await refused(await post(body, unsigned), 'CAPSTAN_PIPELINE_WEBHOOK_HEADER_MISSING', /webhook-signature missing/);
      assert.equal(await executions(), before);
    });

    it('answers an unknown trigger like a bad signature, so trigger names cannot be probed', async () => {
      const body = '{}';
      const res = await fetch(`${server.url}/api/v1/pipelines/hooked/webhooks/nope`, { method: 'POST', headers: { 'content-type': 'application/json', ...signedBy.standard(secret, body) }, body });
      await refused(res, 'CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID', /signature does not match/);
    });
  });
}
