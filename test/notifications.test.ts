import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection, type Subscription } from 'nats';
import { isCapstanError } from '../src/core/errors.js';
import { newWebhookSecret, verifyWebhook } from '../src/core/webhook-signature.js';
import type { GitopsService } from '../src/gitops/index.js';
import type { NotificationService } from '../src/notifications/index.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { buildApp } from '../src/server/app.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A loopback HTTP receiver recording every POST; answers 503 to the next `failNext` requests. */
async function receiver(): Promise<{ server: Server; url: string; got: Received[]; failNext: { n: number } }> {
  const got: Received[] = [];
  const failNext = { n: 0 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body });
      if (failNext.n > 0) {
        failNext.n--;
        res.writeHead(503).end('busy');
      } else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got, failNext };
}

describe('notifications (kind: Notification) through the outbox', () => {
  let t: TestPlatform;
  let rx: Awaited<ReturnType<typeof receiver>>;
  let gitops: GitopsService;
  let notifications: NotificationService;
  let nats: NatsConnection | undefined;
  const slackSecret = newWebhookSecret();
  const hookSecret = newWebhookSecret();
  const apply = (text: string, dryRun = false) => gitops.apply({ files: [{ path: 'notify.yaml', text }], dryRun });

  before(async () => {
    rx = await receiver();
    const host = new URL(rx.url).host;
    t = await openTestPlatform({ 'outbound.allowHosts': [host, '127.0.0.1:4222'], 'queue.backoffBaseMs': 0 });
    gitops = t.platform.context<GitopsService>('gitops');
    notifications = t.platform.context<NotificationService>('notifications');
  });
  after(async () => {
    await nats?.close();
    await t?.dispose();
    rx?.server.close();
  });

  it('delivers a Slack Block Kit message, signed, to a loopback receiver, retrying a failed attempt', async () => {
    const report = await apply(`kind: Notification
name: risk-slack
events: [model_version.created, pipeline_execution.failed, server.error]
target:
  slack: { url: ${rx.url}/services/T0/B0/xyz, secret: ${slackSecret} }
consoleUrl: https://capstan.example.com
`);
    assert.deepEqual(report.changes.map((c) => [c.kind, c.action]), [['Notification', 'create']]);
    rx.failNext.n = 1;
    await t.platform.registry.registerVersion('fraud-detector', { packageDir: writeNcfPackage(path.join(t.home, 'pkg')).dir });
    await t.platform.outbox.drain();

    assert.equal(rx.got.length, 2, 'one failed attempt, one delivered');
    const last = rx.got[1];
    assert.equal(last.path, '/services/T0/B0/xyz');
    const v = verifyWebhook(slackSecret, { id: last.headers['webhook-id'] as string, timestamp: last.headers['webhook-timestamp'] as string, signature: last.headers['webhook-signature'] as string }, last.body);
    assert.equal(v.valid, true, JSON.stringify(v));
    assert.equal(rx.got[0].headers['webhook-id'], last.headers['webhook-id'], 'a retry keeps the event id');
    const msg = JSON.parse(last.body);
    assert.equal(msg.text, 'Model version registered: models/fraud-detector/1');
    assert.deepEqual(msg.blocks.map((b: any) => b.type), ['header', 'section', 'context', 'actions']);
    assert.equal(msg.blocks[0].text.type, 'plain_text');
    assert.match(msg.blocks[1].text.text, /^\*models\/fraud-detector\/1\*/);
    assert.match(msg.blocks[2].elements[0].text, /`capstan models show fraud-detector\/1`/);
    assert.equal(msg.blocks[3].elements[0].url, 'https://capstan.example.com/models/fraud-detector/1');

    const log = await notifications.log('risk-slack');
    assert.equal(log.length, 1);
    assert.deepEqual([log[0].eventType, log[0].state, log[0].attempts, log[0].statusCode], ['model_version.created', 'delivered', 2, 200]);
    await t.platform.outbox.drain();
    assert.equal(rx.got.length, 2, 'a delivered event is not sent again');
  });

  it('announces a failed pipeline execution with the command that shows it', async () => {
    await apply('kind: Pipeline\nname: doomed\nsteps:\n  - name: stop\n    type: fail\n    message: "data missing"\n');
    const exec = await t.platform.pipelines.start('doomed', { trigger: { type: 'manual', by: 'test' } });
    assert.equal((await t.platform.pipelines.wait(exec.id)).state, 'failed');
    const before = rx.got.length;
    await t.platform.outbox.drain();
    const msg = JSON.parse(rx.got.slice(before).find((r) => r.path.startsWith('/services/'))!.body);
    assert.equal(msg.text, `Pipeline execution failed: pipelines/doomed/executions/${exec.id}`);
    assert.match(msg.blocks[2].elements[0].text, new RegExp(`\`capstan pipeline describe ${exec.id}\``));
    assert.equal(msg.blocks[3].elements[0].url, `https://capstan.example.com/pipelines/doomed/executions/${exec.id}`);
    assert.deepEqual((await notifications.log('risk-slack')).map((d) => [d.eventType, d.state]).slice(0, 1), [['pipeline_execution.failed', 'delivered']]);
  });

  it('never shows secrets back; the masked document applies as unchanged', async () => {
    const [view] = await gitops.get('Notification', 'risk-slack');
    const text = JSON.stringify(view);
    assert.ok(!text.includes(slackSecret) && !text.includes('/services/T0'), text);
    assert.deepEqual((view.document.target as any).slack, { url: '(secret: unchanged)', secret: '(secret: unchanged)' });
    const listed = JSON.stringify(await notifications.list()) + JSON.stringify(await notifications.log('risk-slack'));
    assert.ok(!listed.includes(slackSecret) && !listed.includes('/services/T0'));
    const { stringify } = await import('yaml');
    const replay = await apply(stringify(view.document), true);
    assert.deepEqual(replay.changes.map((c) => c.action), ['unchanged']);
    const plan = await apply(`kind: Notification\nname: risk-slack\nevents: [model_version.created]\ntarget:\n  slack: { url: ${rx.url}/services/T0/B0/other }\n`, true);
    assert.equal(plan.changes[0].action, 'update');
    assert.ok(!JSON.stringify(plan).includes('/services/T0'), 'a plan masks secrets too');
  });

  it('delivers Standard-Webhooks-signed HTTP and NATS messages', async () => {
    nats = await connect({ servers: 'nats://127.0.0.1:4222' });
    const sub: Subscription = nats.subscribe('capstan.test.events', { max: 1 });
    await nats.flush();
    await apply(`kind: Notification
name: audit-hook
events: [model_version.*]
target:
  webhook: { url: ${rx.url}/audit, secret: ${hookSecret} }
---
kind: Notification
name: bus
events: [model_version.approved]
target:
  nats: { subject: capstan.test.events, servers: nats://127.0.0.1:4222 }
`);
    const before = rx.got.length;
    await t.platform.registry.setApproval('fraud-detector', 1, { status: 'Approved' });
    await t.platform.outbox.drain();
    const audit = rx.got.slice(before).filter((r) => r.path === '/audit');
    assert.equal(audit.length, 1);
    const body = JSON.parse(audit[0].body);
    assert.equal(body.type, 'model_version.approved');
    assert.equal(body.subject, 'models/fraud-detector/1');
    assert.equal(verifyWebhook(hookSecret, { id: audit[0].headers['webhook-id'] as string, timestamp: audit[0].headers['webhook-timestamp'] as string, signature: audit[0].headers['webhook-signature'] as string }, audit[0].body).valid, true);
    for await (const m of sub) {
      const e = JSON.parse(new TextDecoder().decode(m.data));
      assert.equal(e.type, 'model_version.approved');
      assert.equal(e.subject, 'models/fraud-detector/1');
    }
    assert.equal((await notifications.log('bus'))[0].state, 'delivered');
  });

  it('announces an unexpected server error with its correlation id', async () => {
    const app = await buildApp(t.platform, { extraPlugins: [async (a) => {
      a.get('/api/v1/boom', { config: { access: 'public' } }, async () => {
        throw new Error('kaput at /secret/path');
      });
    }] });
    try {
      const res = await app.inject({ method: 'GET', url: '/api/v1/boom' });
      assert.equal(res.statusCode, 500);
      const correlationId = res.headers['x-correlation-id'] as string;
      assert.match(correlationId, /^cor_/);
      const before = rx.got.length;
      // The event is recorded after the response is sent (onResponse), so it may land just after inject returns.
      const slack = await pollUntil('the Slack subscription to get the server error', async () => {
        await t.platform.outbox.drain();
        return rx.got.slice(before).find((r) => r.path.startsWith('/services/'));
      });
      const msg = JSON.parse(slack.body);
      assert.equal(msg.text, `Unexpected server error: server/${correlationId}`);
      assert.ok(msg.blocks[1].text.text.includes(`*correlationId*: ${correlationId}`));
      assert.ok(!slack.body.includes('/secret/path'), 'no error detail leaves the server');
    } finally {
      await app.close();
    }
  });

  it('refuses a notification to a refused address and a bad document, listing each with its line; nothing is applied', async () => {
    for (const [text, line, pattern] of [
      ['kind: Notification\nname: leak\nevents: [model_version.created]\ntarget:\n  webhook: { url: "http://169.254.169.254/latest", secret: ' + hookSecret + ' }\n', 5, /target\.webhook: notification leak: the target address is refused/],
      ['kind: Notification\nname: leak\nevents: [model_version.created]\ntarget:\n  slack: { url: "http://10.1.2.3/hook" }\n', 5, /target\.slack: notification leak: the target address is refused/],
      ['kind: Notification\nname: leak\nevents: [model_version.created]\ntarget:\n  nats: { subject: leak, servers: "nats://10.0.0.5:4222" }\n', 5, /target\.nats: notification leak: the target address is refused/],
      ['kind: Notification\nname: leak\nevents: [Model Version]\ntarget: { email: a@b.c }\n', 3, /events\[0\]: "Model Version" is not an event type/],
    ] as const) {
      await assert.rejects(apply(text), (err: unknown) => {
        assert.ok(isCapstanError(err, 'CAPSTAN_GITOPS_INVALID'), String(err));
        assert.match(err.message, new RegExp(`^notify\\.yaml:${line}:\\d+ ${pattern.source}`, 'm'));
        return true;
      });
    }
    await assert.rejects(notifications.get('leak'), (err: unknown) => isCapstanError(err, 'CAPSTAN_NOTIFICATION_NOT_FOUND'));
  });
});
