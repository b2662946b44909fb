import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import { verifyWebhook } from '../src/core/webhook-signature.js';
import type { DecisionService } from '../src/decisions/index.js';
import type { DecisionAlerts } from '../src/decisions/decision-alerts.js';
import type { RecordRetention } from '../src/decisions/record-retention.js';
import { openDecisionsTestPlatform, type DecisionsTestPlatform } from '../src/decisions/test-support/decisions-test-platform.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';

const SCHEMA = { type: 'object', properties: { amount: { type: 'number' }, sleepMs: { type: 'number' }, customer: { type: 'string' } } };
const fraudTask = (name: string, sleepMs: number, extra: Record<string, unknown> = {}) => ({
  name,
  type: 'endpoint',
  endpoint: 'fraud',
  request: `{"amount": input.amount, "sleepMs": ${sleepMs}.0}`,
  output: 'response.predictions[0].score',
  timeoutMs: 5000,
  ...extra,
});
const approveAll = { engine: 'cel', rules: [], default: { outcome: 'approve' } };

async function problemOf(fn: () => Promise<unknown>): Promise<{ code: string; message: string; fields: Record<string, unknown> }> {
  try {
    await fn();
  } catch (err) {
    assert.ok(isCapstanError(err), String(err));
    return { code: err.code, message: err.message, fields: err.fields };
  }
  assert.fail('expected an error');
}

for (const factory of await testDatabases()) {
  describe(`decision execution on ${factory.name}`, { skip: factory.skip }, () => {
    let t: DecisionsTestPlatform;
    let decisions: DecisionService;
    let server: Server;
    let base: string;
    let failNext = 0;
    const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
    before(async () => {
      t = await openDecisionsTestPlatform(factory, { 'outbound.allowPrivate': true });
      decisions = t.decisions;
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          received.push({ path: req.url ?? '', headers: req.headers, body });
          if (req.url === '/model' && failNext-- > 0) return void res.writeHead(500).end('{"error":"busy"}');
          if (req.url === '/broken') return void res.writeHead(500).end('{"error":"down"}');
          res.writeHead(200, { 'content-type': 'application/json' }).end(req.url === '/model' ? JSON.stringify({ score: JSON.parse(body).amount / 100 }) : '{}');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      server?.close();
      await t?.dispose();
    });

    it('runs independent tasks at once and a dependent task after both', async () => {
      await decisions.apply({ name: 'dag', input: { schema: SCHEMA }, tasks: [fraudTask('a', 200), fraudTask('b', 200), { name: 'sum', type: 'cel', expression: 'tasks.a + tasks.b' }], rules: approveAll }, { activate: true });
      const r = await decisions.decide('dag', { amount: 100 });
      const [a, b, sum] = (await decisions.record(r.id)).snapshot.tasks;
      const end = (x: typeof a) => x.startMs! + x.latencyMs;
      assert.ok(a.startMs! < end(b) && b.startMs! < end(a), `a and b overlap: ${JSON.stringify([a, b])}`);
      assert.ok(sum.startMs! >= Math.max(end(a), end(b)) - 0.01, 'sum starts after both');
      assert.equal(sum.output, 0.2);
    });

    it('fails a decision that outlives its deadline, recording the task that was still running', async () => {
      await decisions.apply({ name: 'slow', input: { schema: SCHEMA }, deadlineMs: 200, tasks: [fraudTask('a', 1500)], rules: approveAll }, { activate: true });
      const p = await problemOf(() => decisions.decide('slow', { amount: 1 }));
      assert.equal(p.code, 'CAPSTAN_DECISIONS_DEADLINE_EXCEEDED');
      assert.equal(p.message, 'use case slow did not decide within 200 ms');
      const record = await decisions.record(p.fields.recordId as string);
      assert.equal(record.status, 'error');
      assert.equal(record.snapshot.tasks[0].status, 'failed');
      assert.equal(record.snapshot.tasks[0].error?.code, 'CAPSTAN_DECISIONS_DEADLINE_EXCEEDED');
    });

    it('calls an external HTTP model, retrying a failed attempt', async () => {
      await decisions.apply(
        {
          name: 'external',
          input: { schema: SCHEMA },
          tasks: [
            { name: 'ext', type: 'http', url: `${base}/model`, request: '{"amount": input.amount}', output: 'response.score', retries: 1, timeoutMs: 2000 },
            { name: 'down', type: 'http', url: `${base}/broken`, request: 'input', onFailure: 'default', default: -1 },
          ],
          rules: { ...approveAll, output: { ext: 'tasks.ext', down: 'tasks.down' } },
        },
        { activate: true },
      );
      failNext = 1;
      const r = await decisions.decide('external', { amount: 42 });
      assert.deepEqual(r.output, { ext: 0.42, down: -1 });
      assert.deepEqual(r.defaulted, ['down']);
      const tasks = (await decisions.record(r.id)).snapshot.tasks;
      assert.deepEqual([tasks[0].attempts, tasks[0].request, tasks[0].response], [2, { amount: 42 }, { score: 0.42 }]);
      assert.equal(tasks[1].error?.message, `task down: 127.0.0.1:${new URL(base).port} answered HTTP 500`);
    });

    it('alerts a Slack-compatible hook and the signed webhook when the error rate crosses its threshold, with a link to the failing records', async () => {
      const secret = 'whsec_' + Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
      await decisions.apply(
        {
          name: 'flaky',
          input: { schema: SCHEMA },
          tasks: [{ name: 'x', type: 'cel', expression: 'input.customer' }],
          rules: approveAll,
          alerts: { errorRate: 0.5, minDecisions: 2, slackUrl: `${base}/slack`, webhookUrl: `${base}/hook`, webhookSecret: secret },
        },
        { activate: true },
      );
      for (let i = 0; i < 3; i++) await problemOf(() => decisions.decide('flaky', { amount: 1 }));
      const alerts = t.platform.background.find((b) => b.name === 'decision-alerts') as DecisionAlerts;
      const changed = await alerts.checkNow();
      assert.deepEqual(changed.map((c) => [c.usecase, c.firing, c.errors, c.decisions]), [['flaky', true, 3, 3]]);
      assert.deepEqual(await alerts.checkNow(), [], 'an alert already firing is not sent again');
      await t.platform.outbox.drain();
      const slack = received.find((r) => r.path === '/slack')!;
      const text = JSON.parse(slack.body).text as string;
      assert.match(text, /^:rotating_light: decisions flaky v1: error rate 100\.0% \(3\/3\)/);
      assert.match(text, /Failing records: http:\/\/127\.0\.0\.1:\d+\/api\/v1\/decisions\?usecase=flaky&status=error&since=/);
      const hook = received.find((r) => r.path === '/hook')!;
      const h = (n: string) => hook.headers[n] as string;
      assert.equal(verifyWebhook(secret, { id: h('webhook-id'), timestamp: h('webhook-timestamp'), signature: h('webhook-signature') }, hook.body).valid, true);
      assert.equal(JSON.parse(hook.body).data.firing, true);
      const shown = await decisions.describe('flaky');
      assert.equal(shown.definition.alerts?.webhookSecret, '***');
    });

    it('deletes records older than the retention', async () => {
      await decisions.apply({ name: 'kept', input: { schema: SCHEMA }, retentionDays: 1, tasks: [], rules: approveAll }, { activate: true });
      await decisions.decide('kept', { amount: 1 });
      const retention = t.platform.background.find((b) => b.name === 'decision-retention') as RecordRetention;
      assert.equal((await retention.sweep(Date.now())).kept, 0);
      assert.equal((await retention.sweep(Date.now() + 2 * 86_400_000)).kept, 1);
      assert.deepEqual(await decisions.records({ usecase: 'kept' }), []);
    });
  });
}
