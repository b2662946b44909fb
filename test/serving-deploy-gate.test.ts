import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { openServingTestPlatform, registerApproved, type ServingTestPlatform } from '../src/serving/test-support/serving-test-platform.js';

const BODY = JSON.stringify({ user: 1001, items: [5001, 5002, 5003] });

describe('serving deploys only approved versions, on every path; admins may override with a recorded reason', () => {
  let t: ServingTestPlatform;
  let app: CapstanApp;
  const keys: Record<string, string> = {};
  const call = async (role: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${keys[role]}` }, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json() };
  };
  const invoke = (endpoint: string) =>
    app.inject({ method: 'POST', url: `/endpoints/${endpoint}/invocations`, headers: { authorization: `Bearer ${keys.admin}`, 'content-type': 'application/json' }, payload: BODY });

  before(async () => {
    t = await openServingTestPlatform({ 'server.auth': true });
    app = await buildApp(t.platform);
    for (const role of ['admin', 'editor']) keys[role] = (await t.platform.apiKeys.create(`k-${role}`, role as 'admin')).key;
    // v1 pending, v2 rejected, v3 approved
    for (const seed of [1, 2, 3]) await t.registerNcf('ncf', { users: 10, items: 20, seed, approve: seed === 3 });
    await t.registry.setApproval('ncf', 2, { status: 'Rejected', comment: 'worse than v1' }, { actor: 'reviewer' });
  });
  after(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('refuses to create an endpoint from a pending or rejected version through create and deploy, naming it, and stores nothing', async () => {
    const created = await call('editor', 'POST', '/api/v1/endpoints', { name: 'shop', variants: [{ model: 'models:/ncf/1' }] });
    assert.equal(created.status, 409);
    assert.equal(created.body.code, 'CAPSTAN_SERVING_MODEL_NOT_APPROVED');
    assert.equal(created.body.detail, 'model ncf/1 is PendingManualApproval; only Approved versions are served (approve it: capstan models approve ncf 1)');
    assert.deepEqual([created.body.modelName, created.body.version, created.body.approval], ['ncf', 1, 'PendingManualApproval']);
    const deployed = await call('editor', 'POST', '/api/v1/endpoints/shop/deploy', { model: 'models:/ncf/2' });
    assert.equal(deployed.status, 409);
    assert.equal(deployed.body.approval, 'Rejected');
    await assert.rejects(t.platform.serving.deploy('shop', 'models:/ncf/1'), (err: Error & { code?: string }) => err.code === 'CAPSTAN_SERVING_MODEL_NOT_APPROVED');
    assert.deepEqual((await call('editor', 'GET', '/api/v1/endpoints')).body.items, []);
  });

  it('serves an approved version and refuses an update or deploy that brings in an unapproved one, leaving the endpoint as it was', async () => {
    const created = await call('editor', 'POST', '/api/v1/endpoints', { name: 'shop', variants: [{ model: 'models:/ncf/3' }] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const generation = created.body.generation;
    const variant = await call('editor', 'PATCH', '/api/v1/endpoints/shop', { variants: [{ name: 'primary', model: 'models:/ncf/3' }, { name: 'canary', model: 'models:/ncf/1', weight: 0 }] });
    assert.equal(variant.status, 409);
    assert.equal(variant.body.code, 'CAPSTAN_SERVING_MODEL_NOT_APPROVED');
    const deployed = await call('editor', 'POST', '/api/v1/endpoints/shop/deploy', { model: 'models:/ncf/2' });
    assert.equal(deployed.status, 409);
    const described = (await call('editor', 'GET', '/api/v1/endpoints/shop')).body;
    assert.equal(described.generation, generation);
    assert.deepEqual(described.variants.map((v: { resolved: { version: number } }) => v.resolved.version), [3]);
    assert.equal(described.status, 'InService');
    // Changing weights brings in no model: the gate does not stand in the way.
    assert.equal((await call('editor', 'PATCH', '/api/v1/endpoints/shop', { weights: { primary: 2 } })).status, 200);
    assert.equal((await invoke('shop')).statusCode, 200);
  });

  it('lets an admin, not an editor, deploy an unapproved version with a reason, and records who, when, which version and why', async () => {
    const before = (await call('editor', 'GET', '/api/v1/endpoints/shop')).body;
    const editor = await call('editor', 'POST', '/api/v1/endpoints/shop/deploy', { model: 'models:/ncf/1', allowUnapproved: { reason: 'hotfix' } });
    assert.equal(editor.status, 403);
    assert.equal(editor.body.code, 'CAPSTAN_AUTH_FORBIDDEN');
    assert.equal(editor.body.detail, 'deploying an unapproved version needs role admin; the key has role editor');
    const noReason = await call('admin', 'POST', '/api/v1/endpoints/shop/deploy', { model: 'models:/ncf/1', allowUnapproved: { reason: '' } });
    assert.equal(noReason.status, 400);
    assert.equal((await call('editor', 'GET', '/api/v1/endpoints/shop')).body.generation, before.generation, 'the refused requests changed nothing');

    const started = Date.now();
    const admin = await call('admin', 'POST', '/api/v1/endpoints/shop/deploy', { model: 'models:/ncf/1', allowUnapproved: { reason: 'hotfix for INC-7' } });
    assert.equal(admin.status, 200, JSON.stringify(admin.body));
    assert.equal(admin.body.action, 'updated');
    const described = (await call('editor', 'GET', '/api/v1/endpoints/shop')).body;
    assert.equal(described.approvalOverrides.length, 1);
    const [record] = described.approvalOverrides;
    assert.deepEqual({ ...record, at: undefined }, { model: 'ncf', version: 1, approval: 'PendingManualApproval', variant: 'primary', actor: 'key:k-admin', reason: 'hotfix for INC-7', at: undefined });
    assert.ok(Date.parse(record.at) >= started - 1000);
    assert.equal((await invoke('shop')).statusCode, 200);
    // The trail stays with the endpoint across later changes.
    assert.equal((await call('editor', 'POST', '/api/v1/endpoints/shop/deploy', { model: 'models:/ncf/3' })).status, 200);
    assert.equal((await call('editor', 'GET', '/api/v1/endpoints/shop')).body.approvalOverrides.length, 1);
  });

  it('keeps the previous model serving when an update fails to load, and says why without server paths', async () => {
    const dir = path.join(t.scratch, 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'model.mjs'), `import { w } from './missing.mjs';\nexport function predict() { return w; }\n`);
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name: 'broken', framework: 'js', entry: 'model.mjs' }));
    await registerApproved(t.registry, 'broken', { packageDir: dir });
    const res = await call('editor', 'POST', '/api/v1/endpoints/shop/deploy', { model: 'models:/broken/1' });
    assert.equal(res.status, 500);
    assert.equal(res.body.code, 'CAPSTAN_SERVING_MODEL_LOAD_FAILED');
    assert.ok(!JSON.stringify(res.body).includes(t.platform.config.home));
    const described = (await call('editor', 'GET', '/api/v1/endpoints/shop')).body;
    assert.equal(described.status, 'InService');
    assert.match(described.statusReason, /^the last update did not apply: cannot import model\.mjs: .*<package>/);
    assert.ok(!described.statusReason.includes(t.platform.config.home));
    assert.deepEqual(described.variants.map((v: { resolved: { name: string; version: number } }) => `${v.resolved.name}/${v.resolved.version}`), ['ncf/3']);
    assert.equal((await invoke('shop')).statusCode, 200);
  });

  it('answers an endpoint left Failed by an older release with 503 whose problem keeps its numeric status', async () => {
    await t.platform.db.kysely.updateTable('endpoints' as never).set({ status: 'Failed', status_reason: 'old failure' } as never).where('name' as never, '=', 'shop' as never).execute();
    await t.platform.serving.host.remove('shop');
    const res = await invoke('shop');
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().code, 'CAPSTAN_SERVING_ENDPOINT_NOT_READY');
    assert.equal(res.json().status, 503);
    assert.equal(res.json().endpointStatus, 'Failed');
  });
});
