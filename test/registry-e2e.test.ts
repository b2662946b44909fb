import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { tinyOnnxModel } from '../src/serving/test-support/onnx-builder.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { verifyWebhook } from '../src/core/webhook-signature.js';
import { verifyLegacyWebhook, WEBHOOK_JOB_TYPE, WEBHOOK_QUEUE, type AuditEvent, type Comparison, type ModelGroup, type ModelVersion } from '../src/registry/index.js';

/** One request the webhook receiver got. */
interface Delivery {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function startReceiver(): Promise<{ server: Server; url: string; deliveries: Delivery[] }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, deliveries })));
}

/** Runs every ready webhook job through the registered handler, as a worker would, until none is left. */
async function drainWebhooks(platform: Platform): Promise<void> {
  // Committed events become delivery jobs through the outbox subscriber `registry.webhooks`.
  await platform.outbox.drain();
  const handler = platform.jobHandlers.get(WEBHOOK_JOB_TYPE)!;
  for (;;) {
    const jobs = await platform.queue.lease('test-worker', { queues: [WEBHOOK_QUEUE], limit: 50 });
    if (jobs.length === 0) return;
    for (const job of jobs) {
      try {
        const result = await handler(job, { signal: new AbortController().signal, heartbeat: async () => {}, assertLease: async () => {}, workerId: 'test-worker' });
        await platform.queue.ack(job.id, 'test-worker', result);
      } catch (err) {
        await platform.queue.fail(job.id, 'test-worker', err);
      }
    }
  }
}

const manifest = JSON.stringify({ name: 'ncf', framework: 'onnx', entry: 'model.onnx', signature: { inputs: [{ name: 'user', dtype: 'int64' }, { name: 'item', dtype: 'int64' }], outputs: [{ name: 'score', dtype: 'float32' }] } });

for (const factory of await testDatabases()) {
  describe(`registry end to end over HTTP (${factory.name})`, { skip: factory.skip }, () => {
    let testDb: TestDatabase;
    let platform: Platform;
    let app: CapstanApp;
    let home: string;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    const keys: Record<string, string> = {};

    const call = async <T = unknown>(role: string, method: string, url: string, payload?: unknown, raw?: Buffer) => {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${keys[role]}`, ...(raw ? { 'content-type': 'application/octet-stream' } : {}) },
        ...(raw ? { payload: raw } : payload === undefined ? {} : { payload: payload as object }),
      });
      return { status: res.statusCode, body: (res.body ? JSON.parse(res.body) : undefined) as T & { code?: string; detail?: string }, type: res.headers['content-type'] };
    };

    /** Uploads a package through the artifact route and registers it as the next version. */
    const register = async (name: string, metrics: Record<string, number>, files: Record<string, string | Buffer> = { 'model.json': manifest, 'model.onnx': tinyOnnxModel(`onnx-bytes-${JSON.stringify(metrics)}`) }) => {
      const staging = `uploads/e2e-${Math.random().toString(36).slice(2)}`;
      let uri = '';
      for (const [file, content] of Object.entries(files)) {
        const up = await call<{ uri: string }>('editor', 'PUT', `/api/v1/artifacts/${staging}/${file}`, undefined, Buffer.from(content));
        assert.equal(up.status, 201, JSON.stringify(up.body));
        uri = up.body.uri.slice(0, -(file.length + 1));
      }
      return call<ModelVersion>('editor', 'POST', `/api/v1/models/${name}/versions`, { artifactUri: uri, metrics, params: { epochs: 10, lr: 0.001 } });
    };

    before(async () => {
      receiver = await startReceiver();
      testDb = await factory.create();
      home = mkdtempSync(path.join(os.tmpdir(), 'capstan-reg-e2e-'));
      const config = compileConfig({
        flags: { home, databaseUrl: testDb.url, 'server.auth': true, 'outbound.allowHosts': [new URL(receiver.url).host], 'queue.backoffBaseMs': 0 },
        env: {},
        cwd: home,
      });
      platform = await openPlatform({ config, logger: silentLogger() });
      app = await buildApp(platform);
      for (const role of ['admin', 'editor', 'approver', 'viewer', 'invoker']) keys[role] = (await platform.apiKeys.create(`${role}-key`, role)).key;
    });

    after(async () => {
      await app?.close();
      await platform?.close();
      await testDb?.dispose();
      receiver?.server.close();
      if (home) rmSync(home, { recursive: true, force: true });
    });

    it('refuses webhook URLs to loopback, link-local, private and metadata addresses, and stores none', async () => {
      const cases: [string, RegExp][] = [
        ['http://127.0.0.1:1/hook', /loopback address/],
        ['http://localhost/hook', /loopback address/],
        ['http://[::1]/hook', /loopback address/],
        ['http://169.254.10.1/hook', /link-local address/],
        ['http://10.1.2.3/hook', /private address/],
        ['http://192.168.0.10/hook', /private address/],
        ['http://169.254.169.254/latest/meta-data/', /metadata address/],
        ['http://[::ffff:10.0.0.1]/hook', /private address/],
      ];
      for (const [url, message] of cases) {
        const res = await call('admin', 'POST', '/api/v1/webhooks', { url });
        assert.equal(res.status, 400, url);
        assert.equal(res.body.code, 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', url);
        assert.match(res.body.detail!, message, url);
        assert.match(String(res.type), /application\/problem\+json/);
      }
      const scheme = await call('admin', 'POST', '/api/v1/webhooks', { url: 'ftp://example.com/x' });
      assert.equal(scheme.body.code, 'CAPSTAN_OUTBOUND_URL_INVALID');
      assert.deepEqual((await call<unknown[]>('admin', 'GET', '/api/v1/webhooks')).body, []);
    });

    it('registers three versions, approves v2 after refusing a viewer, sets champion, resolves, compares, delivers signed webhooks and keeps the history', async () => {
      const hook = await call<{ id: string; secret: string }>('admin', 'POST', '/api/v1/webhooks', { url: `${receiver.url}/capstan`, description: 'e2e receiver' });
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      assert.match(hook.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'a Standard Webhooks secret of 32 random bytes');

      const metrics = [
        { 'hr@10': 0.55, 'ndcg@10': 0.31 },
        { 'hr@10': 0.66, 'ndcg@10': 0.4 },
        { 'hr@10': 0.61, 'ndcg@10': 0.37 },
      ];
      for (let i = 0; i < 3; i++) {
        const res = await register('ncf', metrics[i]);
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.version, i + 1);
        assert.equal(res.body.approval, 'PendingManualApproval');
        assert.match(res.body.digest, /^sha256:[0-9a-f]{64}$/);
        assert.equal(res.body.framework, 'onnx');
        assert.equal(res.body.createdBy, 'key:editor-key');
        assert.deepEqual(res.body.params, { epochs: '10', lr: '0.001' });
        assert.match(res.body.artifactUri, new RegExp(`/models/ncf/${i + 1}$`));
      }

      for (const role of ['viewer', 'invoker', 'editor']) {
        const refused = await call('viewer' === role ? 'viewer' : role, 'PUT', '/api/v1/models/ncf/versions/2/approval', { status: 'Approved' });
        assert.equal(refused.status, 403, role);
        assert.equal(refused.body.code, 'CAPSTAN_AUTH_FORBIDDEN');
        assert.match(refused.body.detail!, /needs role approver/);
      }
      assert.equal((await call<ModelVersion>('viewer', 'GET', '/api/v1/models/ncf/versions/2')).body.approval, 'PendingManualApproval');

      const approved = await call<ModelVersion>('approver', 'PUT', '/api/v1/models/ncf/versions/2/approval', { status: 'Approved', comment: 'best HR@10 on the holdout' });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.approval, 'Approved');

      const missing = await call('editor', 'PUT', '/api/v1/models/ncf/aliases/champion', { version: 9 });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, 'CAPSTAN_REGISTRY_VERSION_NOT_FOUND');
      assert.match(missing.body.detail!, /model ncf has no version 9/);
      assert.deepEqual((await call<ModelGroup>('viewer', 'GET', '/api/v1/models/ncf')).body.aliases, {});

      const alias = await call<ModelGroup>('editor', 'PUT', '/api/v1/models/ncf/aliases/champion', { version: 2 });
      assert.equal(alias.status, 200, JSON.stringify(alias.body));
      assert.deepEqual(alias.body.aliases, { champion: 2 });

      const resolved = await call<ModelVersion>('viewer', 'GET', `/api/v1/model-refs?ref=${encodeURIComponent('models:/ncf@champion')}`);
      assert.equal(resolved.status, 200);
      assert.equal(resolved.body.version, 2);
      assert.deepEqual(resolved.body.aliases, ['champion']);
      assert.equal((await platform.registry.resolve('models:/ncf@champion')).version, 2);
      assert.equal((await platform.registry.resolve('ncf/3')).version, 3);

      const compared = await call<Comparison>('viewer', 'GET', '/api/v1/models/ncf/compare?versions=1,2,3&metrics=hr@10,ndcg@10');
      assert.equal(compared.status, 200, JSON.stringify(compared.body));
      assert.deepEqual(compared.body.metrics, ['hr@10', 'ndcg@10']);
      assert.deepEqual(compared.body.rows.map((r) => [r.id, r.metrics['hr@10'], r.metrics['ndcg@10'], r.approval]), [
        ['ncf/1', 0.55, 0.31, 'PendingManualApproval'],
        ['ncf/2', 0.66, 0.4, 'Approved'],
        ['ncf/3', 0.61, 0.37, 'PendingManualApproval'],
      ]);
      assert.deepEqual(compared.body.best, { 'hr@10': 'ncf/2', 'ndcg@10': 'ncf/2' });

      await drainWebhooks(platform);
      const types = receiver.deliveries.map((d) => d.headers['x-capstan-event']);
      assert.deepEqual(types, ['model_version.created', 'model_version.created', 'model_version.created', 'model_version.approved', 'model_version.alias_set']);
      for (const d of receiver.deliveries) {
        const [id, timestamp, signature] = ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => d.headers[h] as string);
        // Per the spec, computed here without Capstan's code: base64 HMAC-SHA256 keyed with the decoded whsec_ secret over "<id>.<timestamp>.<body>".
        const spec = createHmac('sha256', Buffer.from(hook.body.secret.slice('whsec_'.length), 'base64')).update(`${id}.${timestamp}.${d.body}`).digest('base64');
        assert.equal(signature, `v1,${spec}`);
        assert.equal(verifyWebhook(hook.body.secret, { id, timestamp, signature }, d.body).valid, true);
        const event = JSON.parse(d.body) as { id: string; type: string; data: Record<string, unknown> };
        assert.equal(event.type, d.headers['x-capstan-event']);
        assert.equal(event.id, id, 'the message id is the event id, the same on every retry');
        // The deprecated scheme is still sent for one release.
        const legacy = verifyLegacyWebhook(hook.body.secret, { signature: d.headers['x-capstan-signature'] as string, timestamp: d.headers['x-capstan-timestamp'] as string }, d.body);
        assert.deepEqual(legacy, { valid: true });
        assert.equal(d.headers['x-capstan-delivery'], id);
        assert.equal(event.data.model, 'ncf');
      }
      const approvedEvent = JSON.parse(receiver.deliveries[3].body);
      assert.deepEqual([approvedEvent.data.version, approvedEvent.data.actor, approvedEvent.data.comment], [2, 'key:approver-key', 'best HR@10 on the holdout']);
      const aliasEvent = JSON.parse(receiver.deliveries[4].body);
      assert.deepEqual([aliasEvent.data.alias, aliasEvent.data.version, aliasEvent.data.previousVersion], ['champion', 2, null]);

      const history = await call<AuditEvent[]>('viewer', 'GET', '/api/v1/models/ncf/history');
      assert.equal(history.status, 200);
      assert.deepEqual(
        history.body.map((e) => [e.action, e.version, e.actor, e.from, e.to, e.alias]),
        [
          ['version.created', 1, 'key:editor-key', null, 'PendingManualApproval', null],
          ['version.created', 2, 'key:editor-key', null, 'PendingManualApproval', null],
          ['version.created', 3, 'key:editor-key', null, 'PendingManualApproval', null],
          ['approval.changed', 2, 'key:approver-key', 'PendingManualApproval', 'Approved', null],
          ['alias.set', 2, 'key:editor-key', null, '2', 'champion'],
        ],
      );
      assert.equal(history.body[3].comment, 'best HR@10 on the holdout');
      assert.ok(history.body.every((e) => !Number.isNaN(Date.parse(e.at))));
      const v2only = await call<AuditEvent[]>('viewer', 'GET', '/api/v1/models/ncf/history?version=2');
      assert.equal(v2only.body.length, 3);
    });

    it('answers problem+json for bad names, unknown models and versions, unsafe artifact URIs and packages without model.json, and changes nothing', async () => {
      const before = (await call<ModelGroup[]>('viewer', 'GET', '/api/v1/models')).body;
      // A bare '..' path segment is resolved away by URL parsing itself, so it is sent in a body below.
      const badNames = ['NCF', 'a%2Fb', 'a..b', 'x'.repeat(64)];
      for (const name of badNames) {
        const res = await call('editor', 'POST', `/api/v1/models/${name}/versions`, { artifactUri: 'file:///tmp/x' });
        assert.equal(res.status, 400, name);
        assert.equal(res.body.code, 'CAPSTAN_NAME_INVALID', name);
        assert.match(res.body.detail!, /model name .* is not valid/);
      }
      for (const name of ['Bad/Name', '..', 'x'.repeat(64)]) {
        const created = await call('editor', 'POST', '/api/v1/models', { name });
        assert.deepEqual([created.status, created.body.code], [400, 'CAPSTAN_NAME_INVALID'], name);
      }

      const unknownModel = await call('viewer', 'GET', '/api/v1/models/nope');
      assert.deepEqual([unknownModel.status, unknownModel.body.code], [404, 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND']);
      const unknownVersion = await call('viewer', 'GET', '/api/v1/models/ncf/versions/42');
      assert.deepEqual([unknownVersion.status, unknownVersion.body.code], [404, 'CAPSTAN_REGISTRY_VERSION_NOT_FOUND']);
      const notANumber = await call('viewer', 'GET', '/api/v1/models/ncf/versions/abc');
      assert.deepEqual([notANumber.status, notANumber.body.code], [404, 'CAPSTAN_REGISTRY_VERSION_NOT_FOUND']);
      const unknownAlias = await call('viewer', 'GET', `/api/v1/model-refs?ref=${encodeURIComponent('models:/ncf@nobody')}`);
      assert.deepEqual([unknownAlias.status, unknownAlias.body.code], [404, 'CAPSTAN_REGISTRY_ALIAS_NOT_FOUND']);

      for (const uri of ['file:///etc', `file://${home}/capstan.db`, 's3://other-bucket/models/x']) {
        const res = await call('editor', 'POST', '/api/v1/models/ncf/versions', { artifactUri: uri });
        assert.equal(res.status, 400, uri);
        assert.equal(res.body.code, 'CAPSTAN_ARTIFACT_UNSAFE_PATH', uri);
        assert.doesNotMatch(JSON.stringify(res.body), /stack|\/etc\/passwd/);
      }
      const traversal = await call('editor', 'PUT', '/api/v1/artifacts/uploads/..%2F..%2Fescape', undefined, Buffer.from('x'));
      assert.equal(traversal.body.code, 'CAPSTAN_ARTIFACT_UNSAFE_PATH');

      const noManifest = await register('ncf', { 'hr@10': 0.9 }, { 'model.onnx': 'bytes' });
      assert.equal(noManifest.status, 400);
      assert.equal(noManifest.body.code, 'CAPSTAN_REGISTRY_PACKAGE_INVALID');
      assert.match(noManifest.body.detail!, /no model\.json/);

      const after = (await call<ModelGroup[]>('viewer', 'GET', '/api/v1/models')).body;
      assert.deepEqual(after, before);
      assert.equal((await call<ModelVersion[]>('viewer', 'GET', '/api/v1/models/ncf/versions')).body.length, 3);
    });

    it('ignores a server-side packageDir sent over HTTP and registers only from the store URI', async () => {
      const staging = `uploads/e2e-pkgdir`;
      const up = await call<{ uri: string }>('editor', 'PUT', `/api/v1/artifacts/${staging}/model.json`, undefined, Buffer.from(JSON.stringify({ framework: 'http' })));
      const uri = up.body.uri.slice(0, -'/model.json'.length);
      const res = await call<ModelVersion>('editor', 'POST', '/api/v1/models/pkgdir/versions', { artifactUri: uri, packageDir: '/etc' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.framework, 'http');
      const onlyDir = await call('editor', 'POST', '/api/v1/models/pkgdir/versions', { packageDir: '/etc' });
      assert.deepEqual([onlyDir.status, onlyDir.body.code], [400, 'CAPSTAN_REQUEST_INVALID']);
      assert.equal((await call<ModelGroup>('viewer', 'GET', '/api/v1/models/pkgdir')).body.latestVersion, 1);
    });

    it('logs 1,000 metric points in one call and reads the series back', async () => {
      const run = await call<{ id: string }>('editor', 'POST', '/api/v1/runs', { experiment: 'ncf-training', params: { epochs: 10 } });
      assert.equal(run.status, 201, JSON.stringify(run.body));
      const points = Array.from({ length: 1000 }, (_, i) => ({ key: i % 2 ? 'loss' : 'hr@10', value: i / 1000, step: Math.floor(i / 2) }));
      const logged = await call<{ count: number }>('editor', 'POST', `/api/v1/runs/${run.body.id}/metrics`, { metrics: points });
      assert.equal(logged.status, 200, JSON.stringify(logged.body));
      assert.equal(logged.body.count, 1000);
      const series = await call<unknown[]>('viewer', 'GET', `/api/v1/runs/${run.body.id}/metrics/loss`);
      assert.equal(series.body.length, 500);
      const shown = await call<{ metrics: Record<string, number> }>('viewer', 'GET', `/api/v1/runs/${run.body.id}`);
      assert.deepEqual(shown.body.metrics, { 'hr@10': 0.998, loss: 0.999 });
    });
  });
}
