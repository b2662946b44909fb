import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../src/core/config.js';
import type { DomainEvent } from '../src/core/events.js';
import { isCapstanError } from '../src/core/errors.js';
import { verifyWebhook } from '../src/core/webhook-signature.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { packageDigest, WEBHOOK_JOB_TYPE, WEBHOOK_QUEUE, type RegistryService } from '../src/registry/index.js';
import { tinyOnnxModel } from '../src/serving/test-support/onnx-builder.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';

const manifest = { name: 'ncf', framework: 'onnx', entry: 'model.onnx', signature: { inputs: [{ name: 'user' }], outputs: [{ name: 'score' }] } };

/** A valid ONNX graph with the manifest's signature (input user, output score), tagged so each package differs. */
const onnx = (tag: string) => tinyOnnxModel(tag, ['user']);

/** Writes a model package directory and returns its path. */
function writePackage(root: string, name: string, files: Record<string, string | Buffer> = { 'model.json': JSON.stringify(manifest), 'model.onnx': onnx(`weights-${name}`), 'assets/items.json': '[1,2,3]' }): string {
  const dir = path.join(root, name);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function rejects(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isCapstanError(err), String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

for (const factory of await testDatabases()) {
  describe(`registry service (${factory.name})`, { skip: factory.skip }, () => {
    let testDb: TestDatabase;
    let platform: Platform;
    let registry: RegistryService;
    let home: string;
    let work: string;
    let receiver: Server;
    let receiverUrl: string;
    const answers: number[] = [];
    const received: string[] = [];
    const signed: { id: string; timestamp: string; signature: string; body: string }[] = [];
    const events: DomainEvent[] = [];

    before(async () => {
      receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          received.push(String(req.headers['x-capstan-event']));
          signed.push({ id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']), signature: String(req.headers['webhook-signature']), body });
          res.writeHead(answers.shift() ?? 200).end();
        });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      testDb = await factory.create();
      home = mkdtempSync(path.join(os.tmpdir(), 'capstan-reg-'));
      work = mkdtempSync(path.join(os.tmpdir(), 'capstan-reg-work-'));
      const config = compileConfig({ flags: { home, databaseUrl: testDb.url, 'outbound.allowPrivate': true, 'queue.backoffBaseMs': 0 }, env: {}, cwd: home });
      platform = await openPlatform({ config, logger: silentLogger() });
      registry = platform.registry;
      platform.events.subscribe('model_version.*', (e) => void events.push(e));
    });

    after(async () => {
      await platform?.close();
      await testDb?.dispose();
      receiver?.close();
      for (const d of [home, work]) if (d) rmSync(d, { recursive: true, force: true });
    });

    it('registers a local package: uploads it under models/<name>/<version>/, records its digest, framework and signature', async () => {
      const v = await registry.registerVersion('fraud', { packageDir: writePackage(work, 'p1'), metrics: { auc: 0.91 }, params: { depth: 6 }, description: 'first' }, { actor: 'tester' });
      assert.equal(v.version, 1);
      assert.equal(v.framework, 'onnx');
      assert.deepEqual(v.signature, { inputs: [{ name: 'user' }], outputs: [{ name: 'score' }] });
      assert.equal(v.createdBy, 'tester');
      const files = await registry.listVersionFiles('fraud', 1);
      assert.deepEqual(files.map((f) => f.key), ['models/fraud/1/assets/items.json', 'models/fraud/1/model.json', 'models/fraud/1/model.onnx']);
      assert.equal(v.digest, packageDigest(files.map((f) => ({ path: f.path, sha256: f.sha256 }))));
      assert.deepEqual(events.map((e) => e.type), ['model_version.created']);
    });

    it('gives identical packages identical digests, whatever their order on disk, and different content a different one', async () => {
      const a = await registry.registerVersion('fraud', { packageDir: writePackage(work, 'p1b', { 'model.onnx': onnx('weights-p1'), 'assets/items.json': '[1,2,3]', 'model.json': JSON.stringify(manifest) }) });
      const first = await registry.getVersion('fraud', 1);
      assert.equal(a.digest, first.digest);
      const c = await registry.registerVersion('fraud', { packageDir: writePackage(work, 'p3') });
      assert.notEqual(c.digest, first.digest);
    });

    it('pulls a version by alias, verifies the digest and writes the files', async () => {
      await registry.setAlias('fraud', 'champion', 1);
      const dest = path.join(work, 'pulled');
      const r = await registry.pullVersion('models:/fraud@champion', dest);
      assert.equal(r.version, 1);
      assert.deepEqual(r.files, ['assets/items.json', 'model.json', 'model.onnx']);
      assert.deepEqual(readFileSync(path.join(dest, 'model.onnx')), onnx('weights-p1'));
    });

    it('refuses a pull into a non-empty directory', async () => {
      await rejects(registry.pullVersion('fraud/1', path.join(work, 'pulled')), 'CAPSTAN_REGISTRY_DESTINATION_NOT_EMPTY', /not empty/);
    });

    it('refuses a pull whose stored bytes no longer match the digest, and leaves nothing behind', async () => {
      await platform.artifacts.put('models/fraud/3/model.onnx', 'tampered');
      const dest = path.join(work, 'tampered');
      await rejects(registry.pullVersion('fraud/3', dest), 'CAPSTAN_ARTIFACT_DIGEST_MISMATCH', /fraud version 3: the downloaded package has digest sha256:[0-9a-f]{64}, the registry recorded sha256:/);
      assert.equal(existsSync(dest), false);
      assert.deepEqual(readdirSync(work).filter((n) => n.includes('.partial')), []);
    });

    it('refuses packages without model.json, with a bad manifest or with a symlink, before handing out a version number', async () => {
      const before = (await registry.getModel('fraud')).latestVersion;
      await rejects(registry.registerVersion('fraud', { packageDir: writePackage(work, 'nomanifest', { 'model.onnx': 'x' }) }), 'CAPSTAN_REGISTRY_PACKAGE_INVALID', /no model\.json/);
      await rejects(registry.registerVersion('fraud', { packageDir: writePackage(work, 'badjson', { 'model.json': '{', 'model.onnx': 'x' }) }), 'CAPSTAN_REGISTRY_PACKAGE_INVALID', /not valid JSON/);
      await rejects(
        registry.registerVersion('fraud', { packageDir: writePackage(work, 'badfw', { 'model.json': JSON.stringify({ framework: 'pickle', entry: 'm.pkl' }), 'm.pkl': 'x' }) }),
        'CAPSTAN_REGISTRY_PACKAGE_INVALID',
        /"framework" must be one of onnx, js, http, python/,
      );
      await rejects(
        registry.registerVersion('fraud', { packageDir: writePackage(work, 'noentry', { 'model.json': JSON.stringify({ framework: 'onnx', entry: 'missing.onnx' }) }) }),
        'CAPSTAN_REGISTRY_PACKAGE_INVALID',
        /entry "missing.onnx" is not a file of the package/,
      );
      await rejects(
        registry.registerVersion('fraud', { packageDir: writePackage(work, 'corrupt', { 'model.json': JSON.stringify(manifest), 'model.onnx': 'not a graph' }) }),
        'CAPSTAN_REGISTRY_PACKAGE_INVALID',
        /^model\.onnx is not a model ONNX Runtime can load: .*protobuf parsing failed/,
      );
      await rejects(
        registry.registerVersion('fraud', { packageDir: writePackage(work, 'mismatch', { 'model.json': JSON.stringify(manifest), 'model.onnx': tinyOnnxModel('two-inputs') }) }),
        'CAPSTAN_REGISTRY_PACKAGE_INVALID',
        /^model\.json: signature\.inputs does not match model\.onnx: it does not declare item which the graph has \(the graph's inputs: user, item\)$/,
      );
      await rejects(
        registry.registerVersion('fraud', { packageDir: writePackage(work, 'badtypes', { 'model.json': JSON.stringify({ ...manifest, contentTypes: ['csv'] }), 'model.onnx': onnx('c') }) }),
        'CAPSTAN_REGISTRY_PACKAGE_INVALID',
        /"contentTypes" must be a non-empty list of media types like text\/csv/,
      );
      const wrongType = { ...manifest, signature: { inputs: [{ name: 'user', dtype: 'float32' }], outputs: [{ name: 'score' }] } };
      await rejects(
        registry.registerVersion('fraud', { packageDir: writePackage(work, 'wrongtype', { 'model.json': JSON.stringify(wrongType), 'model.onnx': onnx('t') }) }),
        'CAPSTAN_REGISTRY_PACKAGE_INVALID',
        /^model\.json: signature\.inputs user is declared float32, the graph has int64$/,
      );
      const linked = writePackage(work, 'linked');
      symlinkSync('/etc/hostname', path.join(linked, 'evil'));
      await rejects(registry.registerVersion('fraud', { packageDir: linked }), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /symbolic link/);
      await rejects(registry.registerVersion('fraud', { packageDir: path.join(work, 'absent') }), 'CAPSTAN_REGISTRY_PACKAGE_INVALID', /does not exist/);
      await rejects(registry.registerVersion('fraud', { artifactUri: 'file:///etc' }), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /not inside this artifact store/);
      await rejects(registry.registerVersion('fraud', { artifactUri: platform.artifacts.uriFor('nothing/here') }), 'CAPSTAN_REGISTRY_PACKAGE_INVALID', /holds nothing under it/);
      assert.equal((await registry.getModel('fraud')).latestVersion, before);
    });

    it('registers from a package already in the store, copying it so the version stays immutable', async () => {
      await platform.artifacts.uploadDirectory(writePackage(work, 'staged'), 'pipelines/exec1/model');
      const v = await registry.registerVersion('fraud', { artifactUri: platform.artifacts.uriFor('pipelines/exec1/model') });
      assert.match(v.artifactUri, /\/models\/fraud\/4$/);
      await platform.artifacts.put('pipelines/exec1/model/model.onnx', 'changed later');
      const again = await registry.pullVersion('fraud/4', path.join(work, 'pulled4'));
      assert.equal(again.digest, v.digest);
    });

    it('moves approval both ways with audit records, refuses a no-op and bad statuses, and emits approved/rejected', async () => {
      events.length = 0;
      await registry.setApproval('fraud', 2, { status: 'Approved', comment: 'ok' }, { actor: 'alice' });
      await registry.setApproval('fraud', 2, { status: 'Rejected', comment: 'drift' }, { actor: 'bob' });
      await registry.setApproval('fraud', 2, { status: 'PendingManualApproval' }, { actor: 'bob' });
      await rejects(registry.setApproval('fraud', 2, { status: 'PendingManualApproval' }), 'CAPSTAN_REGISTRY_APPROVAL_UNCHANGED', /already PendingManualApproval/);
      await rejects(registry.setApproval('fraud', 2, { status: 'Done' as never }), 'CAPSTAN_REQUEST_INVALID', /status must be one of/);
      await rejects(registry.setApproval('fraud', 99, { status: 'Approved' }), 'CAPSTAN_REGISTRY_VERSION_NOT_FOUND', /has no version 99/);
      await rejects(registry.setApproval('nope', 1, { status: 'Approved' }), 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND', /no model nope/);
      const h = (await registry.history('fraud', { version: 2 })).filter((e) => e.action === 'approval.changed');
      assert.deepEqual(h.map((e) => [e.actor, e.from, e.to, e.comment]), [
        ['alice', 'PendingManualApproval', 'Approved', 'ok'],
        ['bob', 'Approved', 'Rejected', 'drift'],
        ['bob', 'Rejected', 'PendingManualApproval', ''],
      ]);
      assert.deepEqual(events.map((e) => e.type), ['model_version.approved', 'model_version.rejected']);
    });

    it('moves and deletes aliases with audit records; refuses missing versions, missing and reserved aliases without changes', async () => {
      await registry.setAlias('fraud', 'champion', 2, { actor: 'carol' });
      await rejects(registry.setAlias('fraud', 'champion', 42), 'CAPSTAN_REGISTRY_VERSION_NOT_FOUND', /has no version 42/);
      await rejects(registry.setAlias('fraud', 'latest', 1), 'CAPSTAN_REGISTRY_ALIAS_INVALID', /reserved/);
      await rejects(registry.setAlias('fraud', 'Champ', 1), 'CAPSTAN_REGISTRY_ALIAS_INVALID', /not valid/);
      assert.deepEqual((await registry.getModel('fraud')).aliases, { champion: 2 });
      await registry.setAlias('fraud', 'challenger', 3);
      await registry.deleteAlias('fraud', 'challenger', { actor: 'carol' });
      await rejects(registry.deleteAlias('fraud', 'challenger'), 'CAPSTAN_REGISTRY_ALIAS_NOT_FOUND', /no alias challenger/);
      await rejects(registry.resolve('fraud@challenger'), 'CAPSTAN_REGISTRY_ALIAS_NOT_FOUND', /no alias challenger/);
      const aliasEvents = (await registry.history('fraud')).filter((e) => e.alias);
      assert.deepEqual(aliasEvents.map((e) => [e.action, e.alias, e.from, e.to]), [
        ['alias.set', 'champion', null, '1'],
        ['alias.set', 'champion', '1', '2'],
        ['alias.set', 'challenger', null, '3'],
        ['alias.deleted', 'challenger', '3', null],
      ]);
      assert.equal((await registry.resolve('models:/fraud/latest')).version, 4);
    });

    it('auto-approves by CEL policy as the system, records the evaluation, and leaves failing versions pending', async () => {
      await rejects(registry.setApprovalPolicy('fraud', { autoApprove: 'metrics["auc"] >=' }), 'CAPSTAN_REGISTRY_POLICY_INVALID', /not valid CEL/);
      assert.equal((await registry.getModel('fraud')).approvalPolicy, null);
      await registry.setApprovalPolicy('fraud', { autoApprove: 'metrics["auc"] >= 0.9' });
      events.length = 0;
      const good = await registry.registerVersion('fraud', { packageDir: writePackage(work, 'p5'), metrics: { auc: 0.93 } });
      const bad = await registry.registerVersion('fraud', { packageDir: writePackage(work, 'p6'), metrics: { auc: 0.7 } });
      const none = await registry.registerVersion('fraud', { packageDir: writePackage(work, 'p7') });
      assert.deepEqual([good.approval, bad.approval, none.approval], ['Approved', 'PendingManualApproval', 'PendingManualApproval']);
      assert.deepEqual(events.map((e) => e.type), ['model_version.created', 'model_version.approved', 'model_version.created', 'model_version.created']);
      const h = await registry.history('fraud', { version: good.version });
      assert.deepEqual(h.map((e) => [e.action, e.actor, e.to]), [
        ['version.created', h[0].actor, 'PendingManualApproval'],
        ['policy.evaluated', 'system:approval-policy', 'Approved'],
        ['approval.changed', 'system:approval-policy', 'Approved'],
      ]);
      assert.match((await registry.history('fraud', { version: none.version }))[1].comment, /could not be evaluated/);
      await registry.setApprovalPolicy('fraud', null);
    });

    it('tracks runs: write-once params, tags, metric series, status timing, artifacts, and links versions to runs', async () => {
      const run = await registry.createRun({ experiment: 'fraud-training', params: { lr: 0.01 }, pipelineExecutionId: 'pex_1', pipelineStep: 'train' }, { actor: 'pipeline' });
      assert.equal(run.status, 'running');
      await registry.logParams(run.id, { lr: 0.01, depth: 6 });
      await rejects(registry.logParams(run.id, { lr: 0.02, trees: 10 }), 'CAPSTAN_REGISTRY_PARAM_CONFLICT', /param lr .* is already "0.01"/);
      assert.deepEqual((await registry.getRun(run.id)).params, { depth: '6', lr: '0.01' });
      await rejects(registry.logMetrics(run.id, [{ key: 'auc', value: Number.NaN }]), 'CAPSTAN_REGISTRY_METRIC_INVALID', /finite number/);
      await rejects(registry.logMetrics(run.id, []), 'CAPSTAN_REGISTRY_METRIC_INVALID', /at least one/);
      await rejects(registry.logMetrics(run.id, Array.from({ length: 10_001 }, () => ({ key: 'x', value: 1 }))), 'CAPSTAN_REGISTRY_METRIC_INVALID', /at most 10000/);
      await rejects(registry.logMetrics('run_missing', [{ key: 'auc', value: 1 }]), 'CAPSTAN_REGISTRY_RUN_NOT_FOUND', /no run "run_missing"/);
      await registry.logMetrics(run.id, [{ key: 'auc', value: 0.8, step: 1 }, { key: 'auc', value: 0.9, step: 2 }]);
      await registry.logMetrics(run.id, [{ key: 'auc', value: 0.5, step: 0 }]);
      await registry.setRunTags(run.id, { owner: 'risk' });
      const ended = await registry.updateRun(run.id, { status: 'finished' });
      assert.deepEqual(ended.metrics, { auc: 0.9 });
      assert.equal(ended.tags.owner, 'risk');
      assert.ok(ended.endedAt && ended.durationMs !== null && ended.durationMs >= 0);
      assert.deepEqual((await registry.metricHistory(run.id, 'auc')).map((p) => p.step), [0, 1, 2]);
      const artifacts = await registry.uploadRunArtifacts(run.id, writePackage(work, 'run-out', { 'report.txt': 'hello' }), 'reports');
      assert.deepEqual(artifacts.map((a) => a.path), ['reports/report.txt']);
      assert.deepEqual((await registry.listRunArtifacts(run.id)).map((a) => a.path), ['reports/report.txt']);
      const v = await registry.registerVersion('fraud', { packageDir: writePackage(work, 'p8'), lineage: { runId: run.id, datasetDigests: { train: 'sha256:abc' } } });
      assert.deepEqual(v.metrics, { auc: 0.9 });
      assert.deepEqual(v.lineage, { runId: run.id, datasetDigests: { train: 'sha256:abc' }, pipelineExecutionId: 'pex_1', pipelineStep: 'train' });
      const other = await registry.createRun({ experiment: 'fraud-training' });
      await registry.logMetrics(other.id, [{ key: 'auc', value: 0.95 }]);
      const c = await registry.compareRuns({ runs: [run.id, other.id], metrics: ['auc'] });
      assert.equal(c.best.auc, other.id);
      assert.deepEqual((await registry.listRuns({ experiment: 'fraud-training' })).map((r) => r.id), [other.id, run.id]);
    });

    it('compares chosen versions and refuses unknown ones', async () => {
      const c = await registry.compareVersions('fraud', { versions: [1, 5], metrics: ['auc'] });
      assert.deepEqual(c.rows.map((r) => [r.id, r.metrics.auc]), [['fraud/1', 0.91], ['fraud/5', 0.93]]);
      await rejects(registry.compareVersions('fraud', { versions: [1, 77] }), 'CAPSTAN_REGISTRY_VERSION_NOT_FOUND', /has no version 77/);
    });

    it('retries a failed webhook delivery through the queue and drops deliveries of deleted webhooks', async () => {
      const hook = await registry.createWebhook({ url: receiverUrl, events: ['model_version.approved'], models: ['fraud'] });
      await rejects(registry.createWebhook({ url: receiverUrl, events: ['model_version.deleted' as never] }), 'CAPSTAN_REGISTRY_WEBHOOK_INVALID', /events must be a list/);
      await rejects(registry.createWebhook({ url: receiverUrl, secret: `whsec_${Buffer.alloc(11).toString('base64')}` }), 'CAPSTAN_REGISTRY_WEBHOOK_INVALID', /24-64 bytes, not 11/);
      assert.deepEqual((await registry.listWebhooks()).map((w) => w.id), [hook.id], 'a refused webhook is not stored');
      answers.push(500);
      await registry.setApproval('fraud', 3, { status: 'Approved' });
      // The outbox subscriber `registry.webhooks` turns the committed event into delivery jobs.
      await platform.outbox.drain();
      const handler = platform.jobHandlers.get(WEBHOOK_JOB_TYPE)!;
      const ctx = { signal: new AbortController().signal, heartbeat: async () => {}, assertLease: async () => {}, workerId: 'w' };
      const [job] = await platform.queue.lease('w', { queues: [WEBHOOK_QUEUE] });
      await assert.rejects(handler(job, ctx), /answered HTTP 500/);
      const failed = await platform.queue.fail(job.id, 'w', new Error('HTTP 500'));
      assert.equal(failed.state, 'queued');
      const [again] = await platform.queue.lease('w', { queues: [WEBHOOK_QUEUE] });
      assert.equal(again.id, job.id);
      assert.deepEqual(await handler(again, ctx), { status: 200 });
      assert.deepEqual(received, ['model_version.approved', 'model_version.approved']);
      assert.equal(signed[0].id, signed[1].id, 'a retry carries the same webhook-id');
      for (const d of signed) assert.equal(verifyWebhook(hook.secret, d, d.body).valid, true);
      assert.equal((await registry.listWebhooks())[0].lastStatus, '200');
      await platform.queue.ack(again.id, 'w');

      await registry.setApproval('fraud', 3, { status: 'Rejected' });
      await registry.setApproval('fraud', 3, { status: 'Approved' });
      await platform.outbox.drain();
      await registry.deleteWebhook(hook.id);
      const [orphan] = await platform.queue.lease('w', { queues: [WEBHOOK_QUEUE] });
      assert.deepEqual(await handler(orphan, ctx), { skipped: 'the webhook was deleted' });
      await rejects(registry.deleteWebhook(hook.id), 'CAPSTAN_REGISTRY_WEBHOOK_NOT_FOUND', /no webhook/);
    });
  });
}
