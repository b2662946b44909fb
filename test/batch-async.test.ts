import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { newWebhookSecret, verifyWebhook } from '../src/core/webhook-signature.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { startS3TestServer, type S3TestServer } from '../src/storage/test-support/s3-test-server.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { openBatchFixture, rankingRecord, type BatchFixture } from './batch-support.js';

const SLEEPER = `
export function predict(model, input) { return new Promise((r) => setTimeout(() => r({ slept: input.sleep }), input.sleep)); }
`;

const setups = (await testDatabases()).flatMap((factory) => [{ factory, s3: false }, ...(factory.name === 'postgres' ? [{ factory, s3: true }] : [])]);

for (const { factory, s3: onS3 } of setups) {
  describe(`asynchronous invocations (${factory.name}${onS3 ? ' + S3' : ''})`, { skip: factory.skip }, () => {
    let fx: BatchFixture;
    let s3: S3TestServer | undefined;
    let app: CapstanApp;
    let stopWorker: () => Promise<void>;
    let hooks: Server;
    let hookUrl: string;
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    let nats: NatsConnection;
    const natsMessages: { subject: string; id: string | undefined; body: any }[] = [];
    const subject = `capstan.test.${factory.name}${onS3 ? '-s3' : ''}.${Date.now()}`;
    const secret = newWebhookSecret();

    before(async () => {
      if (onS3) s3 = await startS3TestServer();
      // A blind backoff of up to a minute: a job turned away by a cold start must come back on the
      // Retry-After its refusal named (the queue honours it), and the worker that refusal started must
      // still be up then (the pool holds its idle clock for the promised retry). Before, a slow cold start
      // on a loaded host pushed a job's exponential backoff past the 1 s idle timeout, and it found the
      // variant at zero again, over and over.
      fx = await openBatchFixture(factory, s3 ? { server: s3, bucket: await s3.createBucket() } : undefined, { 'outbound.allowHosts': ['127.0.0.1'], 'queue.backoffBaseMs': 60_000 });
      const dir = path.join(fx.test.home, 'sleeper');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'model.mjs'), SLEEPER);
      writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name: 'sleeper', framework: 'js', entry: 'model.mjs' }));
      await registerApproved(fx.test.platform.registry, 'sleeper', { packageDir: dir });
      await fx.test.platform.serving.create('ranker', { variants: [{ model: 'models:/ncf@champion' }] });
      await fx.test.platform.serving.create('slow', { variants: [{ model: 'models:/sleeper/1' }] });
      app = await buildApp(fx.test.platform);
      hooks = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          received.push({ headers: req.headers, body });
          res.end('ok');
        });
      });
      await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
      hookUrl = `http://127.0.0.1:${(hooks.address() as { port: number }).port}/hook`;
      nats = await connect({ servers: '127.0.0.1:4222' });
      const sub = nats.subscribe(subject);
      void (async () => {
        for await (const m of sub) natsMessages.push({ subject: m.subject, id: m.headers?.get('Nats-Msg-Id'), body: m.json() });
      })();
      await nats.flush();
      stopWorker = await fx.work(['async']);
      await fx.test.platform.outbox.start();
    });
    after(async () => {
      await stopWorker?.();
      await fx?.test.platform.outbox.stop();
      await nats?.drain();
      hooks?.close();
      await app?.close();
      await fx?.dispose();
      await s3?.dispose();
    });

    const post = (endpoint: string, body: string, headers: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url: `/endpoints/${endpoint}/async-invocations`, headers: { 'content-type': 'application/json', ...headers }, payload: body });
    const settled = (id: string) =>
      pollUntil(`invocation ${id} to end`, async () => {
        const res = await app.inject({ method: 'GET', url: `/api/v1/async-invocations/${id}` });
        const v = res.json();
        return ['Completed', 'Failed', 'Expired'].includes(v.state) ? v : undefined;
      }, { deadlineMs: 60_000 });

    it('answers 202 with the SageMaker locations, runs the request from the queue and stores the answer', async () => {
      const body = rankingRecord(fx.fixture, 3);
      const res = await post('ranker', body, { 'x-amzn-sagemaker-inference-id': 'req-1' });
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.json().InferenceId, 'req-1');
      const out = res.headers['x-amzn-sagemaker-outputlocation'] as string;
      assert.match(out, /async\/ranker\/output\/ai_\w+\.out$/);
      assert.match(res.headers['x-amzn-sagemaker-failurelocation'] as string, /async\/ranker\/failure\/ai_\w+-error\.out$/);
      const done = await settled(res.json().id);
      assert.equal(done.state, 'Completed');
      assert.equal(await fx.read(out), (await fx.test.platform.serving.invoke('ranker', body)).body);
      // The same inference id again is the same request, not a second one.
      const again = await post('ranker', body, { 'x-amzn-sagemaker-inference-id': 'req-1' });
      assert.equal(again.json().id, res.json().id);
    });

    it('wakes an endpoint scaled to zero for queued work, retries what its cold-start queue turned away, and it scales back to zero once the queue is empty', async () => {
      // queueSize 0: every request that arrives while the worker starts is turned away (503); the async
      // queue must bring those back instead of failing them.
      await fx.test.platform.serving.create('dozing', { variants: [{ model: 'models:/sleeper/1', scaling: { min: 0, max: 1, idleTimeoutMs: 1000, queueSize: 0 } }] });
      const live = async () => (await fx.test.platform.serving.describe('dozing')).variants[0].live!;
      await pollUntil('dozing to scale to zero', async () => ((await live()).workers === 0 ? true : undefined), { deadlineMs: 30_000 });
      const accepted = await Promise.all(Array.from({ length: 4 }, (_, n) => post('dozing', JSON.stringify({ sleep: 5 + n }))));
      assert.deepEqual(accepted.map((r) => r.statusCode), [202, 202, 202, 202]);
      const done = await Promise.all(accepted.map((r) => settled(r.json().id)));
      assert.deepEqual(done.map((v) => v.state), ['Completed', 'Completed', 'Completed', 'Completed'], JSON.stringify(done));
      assert.deepEqual(await Promise.all(accepted.map(async (r) => JSON.parse(await fx.read(r.headers['x-amzn-sagemaker-outputlocation'] as string)).slept)), [5, 6, 7, 8]);
      assert.ok(((await live()).scaling?.coldStarts ?? 0) >= 1, 'the queued work started a worker');
      await pollUntil('dozing to scale back to zero', async () => ((await live()).workers === 0 ? true : undefined), { deadlineMs: 30_000 });
    });

    it('reads the payload from X-Amzn-SageMaker-InputLocation', async () => {
      const input = await fx.put('async-in/one.json', rankingRecord(fx.fixture, 4));
      // As boto3's invoke_endpoint_async sends it: an empty body, a SigV4 Authorization header (ignored without API keys).
      const res = await post('ranker', '', {
        'x-amzn-sagemaker-inputlocation': input,
        'x-amzn-sagemaker-content-type': 'application/json',
        authorization: 'AWS4-HMAC-SHA256 Credential=x/20261201/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date, Signature=00',
      });
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.equal(res.statusCode, 202, res.body);
      assert.equal((await settled(res.json().id)).state, 'Completed');
      assert.match(await fx.read(res.headers['x-amzn-sagemaker-outputlocation'] as string), /"items":\[/);
    });

    it('fails a request past its invocation timeout, and one past its TTL, into the failure location', async () => {
      const slow = await post('slow', JSON.stringify({ sleep: 3000 }), { 'x-amzn-sagemaker-invocationtimeoutseconds': '1' });
      const failed = await settled(slow.json().id);
      assert.equal(failed.state, 'Failed');
      const failure = JSON.parse(await fx.read(slow.headers['x-amzn-sagemaker-failurelocation'] as string));
      assert.equal(failure.code, 'CAPSTAN_ASYNC_TIMEOUT');
      assert.match(failure.message, /did not finish within 1 s/);

      // A request that waited past its TTL: stop the worker, queue it, move its deadline into the past.
      await stopWorker();
      const late = await post('ranker', rankingRecord(fx.fixture, 5), { 'x-amzn-sagemaker-requestttlseconds': '60' });
      await fx.test.platform.db.kysely.updateTable('async_invocations').set({ expires_at: Date.now() - 1 }).where('id', '=', late.json().id).execute();
      stopWorker = await fx.work(['async']);
      const expired = await settled(late.json().id);
      assert.equal(expired.state, 'Expired');
      assert.equal(JSON.parse(await fx.read(late.headers['x-amzn-sagemaker-failurelocation'] as string)).code, 'CAPSTAN_ASYNC_EXPIRED');
    });

    it('refuses bad requests with their codes and queues nothing', async () => {
      const count = async () => Number((await fx.test.platform.db.kysely.selectFrom('async_invocations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const before = await count();
      const cases: [string, string, Record<string, string>, number, string, RegExp][] = [
        ['nosuch', '{}', {}, 404, 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND', /nosuch/],
        ['ranker', '{}', { 'x-amzn-sagemaker-requestttlseconds': '30' }, 400, 'CAPSTAN_ASYNC_OPTIONS_INVALID', /requestTtlSeconds must be an integer from 60 to 21600 seconds, got 30/],
        ['ranker', '{}', { 'x-amzn-sagemaker-invocationtimeoutseconds': '3601' }, 400, 'CAPSTAN_ASYNC_OPTIONS_INVALID', /invocationTimeoutSeconds must be an integer from 1 to 3600/],
        ['ranker', '{}', { 'x-amzn-sagemaker-requestttlseconds': 'soon' }, 400, 'CAPSTAN_ASYNC_OPTIONS_INVALID', /whole number of seconds/],
        ['ranker', '', { 'x-amzn-sagemaker-inputlocation': 's3://elsewhere/in.json' }, 400, 'CAPSTAN_ASYNC_INPUT_INVALID', /outside the artifact store/],
        ['ranker', '', { 'x-amzn-sagemaker-inputlocation': fx.test.platform.artifacts.uriFor('async-in/missing.json') }, 400, 'CAPSTAN_ASYNC_INPUT_INVALID', /nothing at the input location/],
        ['ranker', '', {}, 400, 'CAPSTAN_ASYNC_INPUT_INVALID', /send the payload as the body/],
      ];
      for (const [endpoint, body, headers, status, code, detail] of cases) {
        const res = await post(endpoint, body, headers);
        assert.equal(res.statusCode, status, `${code}: ${res.body}`);
        assert.equal(res.json().code, code);
        assert.match(res.json().detail, detail);
      }
      const missing = await app.inject({ method: 'GET', url: '/api/v1/async-invocations/ai_nope' });
      assert.equal(missing.json().code, 'CAPSTAN_ASYNC_INVOCATION_NOT_FOUND');
      assert.equal(await count(), before);
    });

    it('notifies success and error by signed webhook and on NATS through the outbox, with the result inline when asked', async () => {
      const refused = await app.inject({ method: 'PUT', url: '/api/v1/endpoints/ranker/async-config', payload: { notification: { webhookUrl: 'http://10.1.2.3/hook', webhookSecret: secret } } });
      assert.equal(refused.json().code, 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED');
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/endpoints/ranker/async-config' })).json().notification, null);
      const noSecret = await app.inject({ method: 'PUT', url: '/api/v1/endpoints/ranker/async-config', payload: { notification: { webhookUrl: hookUrl } } });
      assert.equal(noSecret.json().code, 'CAPSTAN_NOTIFY_INVALID');
      const configured = await app.inject({ method: 'PUT', url: '/api/v1/endpoints/ranker/async-config', payload: { maxConcurrency: 2, notification: { webhookUrl: hookUrl, webhookSecret: secret, natsSubject: subject, includeResult: true } } });
      assert.equal(configured.statusCode, 200, configured.body);
      assert.equal(configured.json().notification.webhookSecret, undefined, 'the secret is never shown');
      const ok = await post('ranker', rankingRecord(fx.fixture, 6));
      const bad = await post('ranker', JSON.stringify({ user: 'nobody', items: [1] }));
      assert.equal((await settled(ok.json().id)).state, 'Completed');
      assert.equal((await settled(bad.json().id)).state, 'Failed');
      const hooksFor = (id: string) => received.filter((r) => JSON.parse(r.body).data.id === id);
      await pollUntil('both webhooks and both NATS messages', () => (hooksFor(ok.json().id).length && hooksFor(bad.json().id).length && natsMessages.length >= 2 ? true : undefined), { deadlineMs: 30_000 });
      const success = hooksFor(ok.json().id)[0];
      const h = success.headers;
      const verified = verifyWebhook(secret, { id: h['webhook-id'] as string, timestamp: h['webhook-timestamp'] as string, signature: h['webhook-signature'] as string }, success.body);
      assert.equal(verified.valid, true);
      const doc = JSON.parse(success.body);
      assert.equal(h['webhook-id'], doc.id, 'the event id is the webhook-id receivers dedupe on');
      assert.equal(doc.type, 'async_invocation.succeeded');
      assert.equal(doc.data.result, await fx.read(ok.headers['x-amzn-sagemaker-outputlocation'] as string));
      const error = JSON.parse(hooksFor(bad.json().id)[0].body);
      assert.equal(error.type, 'async_invocation.failed');
      assert.match(error.data.failureReason, /CAPSTAN_SERVING_UNKNOWN_IDS/);
      const onNats = natsMessages.find((m) => m.body.data.id === ok.json().id)!;
      assert.equal(onNats.id, doc.id, 'the NATS message carries the event id for deduplication');
      assert.equal(onNats.body.type, 'async_invocation.succeeded');
    });

    it('announces a finished batch job on its NATS subject and webhook', async () => {
      const input = await fx.put('notify/in.jsonl', `${rankingRecord(fx.fixture, 1)}\n`);
      const job = await fx.batch.batch.create({ model: 'ncf@champion', input, output: fx.test.platform.artifacts.uriFor('notify/out'), notification: { natsSubject: subject, webhookUrl: hookUrl, webhookSecret: secret } });
      assert.equal((job.options.notification as { webhookSecret?: string }).webhookSecret, undefined, 'the secret is never shown');
      assert.equal((await fx.runToEnd(job.id)).state, 'Completed');
      const msg = await pollUntil('the batch notification', () => natsMessages.find((m) => m.body.data.id === job.id), { deadlineMs: 30_000 });
      assert.equal(msg.body.type, 'batch_job.completed');
      assert.deepEqual(msg.body.data.records, { total: 1, done: 1, failed: 0 });
      const hook = await pollUntil('the batch webhook', () => received.find((r) => JSON.parse(r.body).data.id === job.id));
      assert.equal(hook.headers['webhook-id'], msg.id);
    });
  });
}
