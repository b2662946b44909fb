import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { Validator } from '@seriousme/openapi-schema-validator';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { verifyWebhook } from '../src/core/webhook-signature.js';
import { openDecisionsTestPlatform, type DecisionsTestPlatform } from '../src/decisions/test-support/decisions-test-platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { Worker } from '../src/storage/queue/worker.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { riskDefinition } from '../src/decisions/test-support/risk-definition.js';

for (const factory of await testDatabases()) {
  describe(`decisions over HTTP on ${factory.name}`, { skip: factory.skip }, () => {
    let t: DecisionsTestPlatform;
    let app: CapstanApp;
    let worker: Worker;
    let receiver: Server;
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    let callbackUrl: string;

    before(async () => {
      t = await openDecisionsTestPlatform(factory, { 'outbound.allowPrivate': true });
      app = await buildApp(t.platform);
      worker = new Worker({ queue: t.platform.queue, handlers: t.platform.jobHandlers, pollMs: 20 });
      await worker.start();
      receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          received.push({ headers: req.headers, body });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    });
    after(async () => {
      await worker?.stop();
      receiver?.close();
      await app?.close();
      await t?.dispose();
    });

    const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });

    it('applies and activates a use case, then decides through POST /api/v1/decisions/{usecase}', async () => {
      const applied = await post('/api/v1/decisions/usecases', { definition: riskDefinition({ input: { ...(riskDefinition().input as object), example: { customer: 'c1', amount: 120 } } }), activate: true });
      assert.equal(applied.statusCode, 201, applied.body);
      assert.equal(applied.json().usecase.activeVersion, 1);
      const res = await post('/api/v1/decisions/risk', { customer: 'c1', amount: 950 });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().outcome, 'reject');
      const record = await app.inject({ method: 'GET', url: `/api/v1/decisions/records/${res.json().id}` });
      assert.equal(record.json().snapshot.tasks[0].model.version, 1);
    });

    it('answers 400 listing each violation for input outside the schema and stores nothing', async () => {
      const res = await post('/api/v1/decisions/risk', { customer: 7 });
      assert.equal(res.statusCode, 400);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(res.json().code, 'CAPSTAN_DECISIONS_INPUT_INVALID');
      assert.deepEqual(res.json().violations, ["(input) must have required property 'amount'", '/customer must be string']);
      const list = await app.inject({ method: 'GET', url: '/api/v1/decisions?usecase=risk' });
      assert.equal(list.json().items.length, 1);
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /capstan_decisions_rejected_total\{usecase="risk"\} 1/);
    });

    it('answers 404 for an unknown use case', async () => {
      const res = await post('/api/v1/decisions/nope', { customer: 'c1', amount: 1 });
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().code, 'CAPSTAN_DECISIONS_USECASE_NOT_FOUND');
      assert.equal(res.json().detail, 'no use case nope');
    });

    it('refuses a definition with a blocked outbound URL at apply (400) and stores nothing', async () => {
      const bad = riskDefinition({ name: 'ext', tasks: [...(riskDefinition().tasks as unknown[]), { name: 'ext', type: 'http', url: 'http://169.254.169.254/model', request: 'input' }] });
      const res = await post('/api/v1/decisions/usecases', { definition: bad });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED');
      assert.equal((await app.inject({ method: 'GET', url: '/api/v1/decisions/usecases/ext' })).statusCode, 404);
    });

    it('documents each active use case in /openapi.json with its input schema and output shape', async () => {
      const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
      const op = doc.paths['/api/v1/decisions/risk'].post;
      assert.equal(op.operationId, 'decideRisk');
      assert.deepEqual(op.requestBody.content['application/json'].schema, (riskDefinition().input as { schema: unknown }).schema);
      assert.deepEqual(op.requestBody.content['application/json'].example, { customer: 'c1', amount: 120 });
      assert.deepEqual(op.responses['200'].content['application/json'].schema.properties.outcome, { type: 'string', enum: ['reject', 'review', 'approve'] });
      assert.ok(doc.paths['/api/v1/decisions/risk/async'].post);
      const result = await new Validator().validate(doc);
      assert.equal(result.valid, true, JSON.stringify(result.errors)?.slice(0, 1000));
      assert.deepEqual((await app.inject({ method: 'GET', url: '/docs/json' })).json(), doc);
    });

    it('queues an async decision, answers 202 at once, and POSTs the signed result to the callback', async () => {
      const res = await post('/api/v1/decisions/risk/async', { input: { customer: 'c8', amount: 600 }, callback: { url: callbackUrl } });
      assert.equal(res.statusCode, 202, res.body);
      const { id, callbackSecret } = res.json();
      assert.match(callbackSecret, /^whsec_/);
      const done = await pollUntil('the async decision', async () => {
        const r = (await app.inject({ method: 'GET', url: `/api/v1/decisions/requests/${id}` })).json();
        return r.status === 'queued' ? undefined : r;
      });
      assert.equal(done.status, 'done');
      assert.equal(done.record.outcome, 'review');
      await pollUntil('the callback', async () => {
        await t.platform.outbox.drain();
        return received.length > 0 ? true : undefined;
      });
      const hook = received[0];
      const h = (name: string) => hook.headers[name] as string | undefined;
      const verified = verifyWebhook(callbackSecret, { id: h('webhook-id'), timestamp: h('webhook-timestamp'), signature: h('webhook-signature') }, hook.body);
      assert.equal(verified.valid, true);
      const body = JSON.parse(hook.body);
      assert.equal(body.requestId, id);
      assert.equal(body.record.outcome, 'review');
    });

    it('refuses an async call with input outside the schema at once (400), queueing nothing', async () => {
      const res = await post('/api/v1/decisions/risk/async', { input: { customer: 'c8' } });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'CAPSTAN_DECISIONS_INPUT_INVALID');
    });

    it('exports records as JSON Lines with their snapshots', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/v1/decisions/export?usecase=risk' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
      const lines = res.body.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.length, 2);
      assert.ok(lines.every((l) => l.snapshot && l.snapshot.input));
    });

    it('exports the same records as a Parquet file that DuckDB reads back, and refuses an unknown format', async () => {
      const jsonl = (await app.inject({ method: 'GET', url: '/api/v1/decisions/export?usecase=risk&format=jsonl' })).body.trim().split('\n').map((l) => JSON.parse(l));
      const res = await app.inject({ method: 'GET', url: '/api/v1/decisions/export?usecase=risk&format=parquet' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['content-type'], 'application/vnd.apache.parquet');
      assert.match(String(res.headers['content-disposition']), /filename="risk\.parquet"/);
      const file = path.join(t.home, 'export.parquet');
      writeFileSync(file, res.rawPayload);
      const duck = await DuckDBInstance.create(':memory:');
      const conn = await duck.connect();
      try {
        const rows = (await conn.runAndReadAll(`SELECT id, usecase, version, role, subject, status, outcome, reasons, output, latency_ms, epoch_ms(time) AS ms, snapshot FROM read_parquet('${file}')`)).getRowObjectsJson();
        assert.equal(rows.length, jsonl.length);
        assert.deepEqual(
          rows.map((r) => ({ id: r.id, usecase: r.usecase, version: Number(r.version), role: r.role, subject: r.subject, status: r.status, outcome: r.outcome, reasons: JSON.parse(String(r.reasons)), output: JSON.parse(String(r.output)), latencyMs: Number(r.latency_ms), time: new Date(Number(r.ms)).toISOString(), snapshot: JSON.parse(String(r.snapshot)) })),
          jsonl,
        );
      } finally {
        conn.closeSync();
      }
      const bad = await app.inject({ method: 'GET', url: '/api/v1/decisions/export?usecase=risk&format=csv' });
      assert.equal(bad.statusCode, 400);
      const unknown = await app.inject({ method: 'GET', url: '/api/v1/decisions/export?usecase=nope&format=parquet' });
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().code, 'CAPSTAN_DECISIONS_USECASE_NOT_FOUND');
    });

    it('runs the challenger on async decisions too, storing both records paired', async () => {
      await t.decisions.apply(riskDefinition({ thresholds: { review: 0.1, reject: 0.5 } }));
      await t.decisions.activate('risk', 2, { challenger: true });
      const res = await post('/api/v1/decisions/risk/async', { input: { customer: 'c10', amount: 600 } });
      assert.equal(res.statusCode, 202, res.body);
      const done = await pollUntil('the async decision', async () => {
        const r = (await app.inject({ method: 'GET', url: `/api/v1/decisions/requests/${res.json().id}` })).json();
        return r.status === 'queued' ? undefined : r;
      });
      assert.equal(done.status, 'done');
      assert.equal(done.record.outcome, 'review');
      assert.equal(done.record.version, 1);
      const shadow = await pollUntil('the challenger record', async () => {
        const found = await t.decisions.records({ usecase: 'risk', role: 'challenger', subject: 'c10' });
        return found.length > 0 ? found : undefined;
      });
      assert.equal(shadow.length, 1);
      assert.equal(shadow[0].version, 2);
      assert.equal(shadow[0].outcome, 'reject');
      assert.equal(shadow[0].id, `${done.record.id}c`);
      const cmp = await t.decisions.compare('risk', done.createdAt);
      assert.equal(cmp.disagreements, 1);
    });
  });
}
