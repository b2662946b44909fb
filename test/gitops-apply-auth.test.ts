import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';

describe('apply grants no more than the resources own routes (auth on)', () => {
  let server: TestServer;
  let editor: string;
  let admin: string;
  before(async () => {
    server = await startTestServer({ 'server.auth': true, 'outbound.allowHosts': ['127.0.0.1:4222'] });
    editor = (await server.platform.apiKeys.create('ci', 'editor')).key;
    admin = (await server.platform.apiKeys.create('root', 'admin')).key;
  });
  after(async () => {
    await server?.dispose();
  });

  const apply = (key: string, text: string, extra: Record<string, unknown> = {}) =>
    fetch(`${server.url}/api/v1/apply`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ files: [{ path: 'r.yaml', text }], ...extra }) });

  it('an editor key applies a model group, but not its approval policy or a notification target; nothing is applied then', async () => {
    assert.equal((await apply(editor, 'kind: ModelGroup\nname: g\ndescription: plain\n')).status, 200);
    const policy = await apply(editor, 'kind: ModelGroup\nname: g\ndescription: changed\napprovalPolicy: { autoApprove: "true" }\n');
    assert.equal(policy.status, 403);
    const problem = (await policy.json()) as { code: string; detail: string };
    assert.equal(problem.code, 'CAPSTAN_AUTH_FORBIDDEN');
    assert.match(problem.detail, /ModelGroup\/g needs role approver/);
    assert.equal((await server.platform.registry.getModel('g')).description, 'plain');
    const notify = await apply(editor, 'kind: Notification\nname: n\nevents: ["*"]\ntarget:\n  nats: { subject: out }\n', { dryRun: true });
    assert.equal(notify.status, 403, 'even a plan is refused');
    assert.match(((await notify.json()) as { detail: string }).detail, /Notification\/n needs role admin/);

    assert.equal((await apply(admin, 'kind: ModelGroup\nname: g\ndescription: changed\napprovalPolicy: { autoApprove: "true" }\n---\nkind: Notification\nname: n\nevents: ["*"]\ntarget:\n  nats: { subject: out }\n')).status, 200);
    // Unchanged resources need nothing more: an editor may re-apply the same files.
    assert.equal((await apply(editor, 'kind: ModelGroup\nname: g\ndescription: changed\napprovalPolicy: { autoApprove: "true" }\n')).status, 200);
    const del = await fetch(`${server.url}/api/v1/resources/Notification/n`, { method: 'DELETE', headers: { authorization: `Bearer ${editor}` } });
    assert.equal(del.status, 403);
    assert.ok((await server.platform.context<{ get(n: string): Promise<unknown> }>('notifications').get('n')), 'still there');
  });
});
