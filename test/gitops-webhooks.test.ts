import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import type { GitopsService } from '../src/gitops/index.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { cliJson, cliProblem, runCapstan } from './support/capstan-cli.js';
import { gitFixture, type GitFixture } from './support/git-fixture.js';

describe('repository push webhooks (GitHub, GitLab, Gitea) and polling, over HTTP with the poller running', () => {
  let server: TestServer;
  let repo: GitFixture;
  let secret: string;
  let hookUrl: string;
  before(async () => {
    // A poll interval of an hour: only the first poll at start and the webhooks sync.
    server = await startTestServer({ 'gitops.pollMs': 3_600_000, 'outbound.allowHosts': ['127.0.0.1:4222'] }, { background: true });
    repo = gitFixture();
    repo.push({ 'ml/models.yaml': 'kind: ModelGroup\nname: wh-group\ndescription: first\n' }, 'first');
    const res = await fetch(`${server.url}/api/v1/repositories`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'wh', url: repo.origin, path: 'ml' }) });
    assert.equal(res.status, 201);
    const created = (await res.json()) as { webhookSecret: string; webhookPath: string };
    secret = created.webhookSecret;
    hookUrl = server.url + created.webhookPath;
  });
  after(async () => {
    await server?.dispose();
    if (repo) rmSync(repo.dir, { recursive: true, force: true });
  });

  const describeRepo = async () => (await (await fetch(`${server.url}/api/v1/repositories/wh`)).json()) as { status: string; appliedCommit: string | null; syncs: { state: string; commit: string }[] };
  const requested = async () => {
    const row = await server.platform.db.as<{ gitops_repositories: { name: string; sync_requested: number } }>().selectFrom('gitops_repositories').select('sync_requested').where('name', '=', 'wh').executeTakeFirstOrThrow();
    return Number(row.sync_requested);
  };
  const push = (headers: Record<string, string>, body: string) => fetch(hookUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const sign = (body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

  it('the poller syncs a new repository once it is added', async () => {
    const r = await pollUntil('the first sync', async () => {
      const d = await describeRepo();
      return d.status === 'synced' ? d : undefined;
    });
    assert.equal(r.syncs.length, 1);
    assert.equal((await server.platform.registry.getModel('wh-group')).description, 'first');
  });

  it('answers 401 to a push without a valid signature or token, and fetches nothing', async () => {
    const commit = repo.push({ 'ml/models.yaml': 'kind: ModelGroup\nname: wh-group\ndescription: second\n' }, 'second');
    const body = JSON.stringify({ ref: 'refs/heads/main', after: commit });
    for (const headers of [{}, { 'x-hub-signature-256': sign('{"other":1}') }, { 'x-hub-signature-256': 'sha256=00' }, { 'x-gitlab-token': 'guess' }, { 'x-gitea-signature': '00' }] as Record<string, string>[]) {
      const res = await push(headers, body);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(((await res.json()) as { code: string }).code, 'CAPSTAN_GITOPS_WEBHOOK_SIGNATURE_INVALID');
    }
    const unknown = await fetch(`${server.url}/api/v1/repositories/nope/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) }, body });
    assert.equal(unknown.status, 401, 'an unknown repository answers like a bad signature');
    assert.equal(await requested(), 0, 'no sync was requested');
    assert.equal((await describeRepo()).syncs.length, 1, 'nothing was fetched');
    assert.equal((await server.platform.registry.getModel('wh-group')).description, 'first');
  });

  it('a GitHub-signed push to the branch syncs it at once', async () => {
    const head = (await describeRepo()).appliedCommit;
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const res = await push({ 'x-hub-signature-256': sign(body), 'x-github-event': 'push' }, body);
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { format: 'github', accepted: true, repository: 'wh' });
    const r = await pollUntil('the pushed commit applied', async () => {
      const d = await describeRepo();
      return d.appliedCommit !== head && d.status === 'synced' ? d : undefined;
    });
    assert.equal(r.syncs[0].state, 'applied');
    assert.equal((await server.platform.registry.getModel('wh-group')).description, 'second');
  });

  it('accepts GitLab tokens and Gitea signatures; a push to another branch is acknowledged and ignored', async () => {
    const other = JSON.stringify({ ref: 'refs/heads/feature' });
    const ignored = await push({ 'x-gitea-signature': createHmac('sha256', secret).update(other).digest('hex'), 'x-gitea-event': 'push' }, other);
    assert.equal(ignored.status, 202);
    assert.deepEqual(await ignored.json(), { format: 'gitea', accepted: false, repository: 'wh' });
    assert.equal(await requested(), 0);
    const main = JSON.stringify({ ref: 'refs/heads/main' });
    const gitlab = await push({ 'x-gitlab-token': secret, 'x-gitlab-event': 'Push Hook' }, main);
    assert.equal(gitlab.status, 202);
    assert.deepEqual(await gitlab.json(), { format: 'gitlab', accepted: true, repository: 'wh' });
    const r = await pollUntil('the requested sync', async () => {
      const d = await describeRepo();
      return d.syncs.length === 3 && d.syncs[0].state !== 'running' ? d : undefined;
    });
    assert.equal(r.syncs[0].state, 'unchanged', 'no new commit: nothing applied');
  });

  it('registers and lists repositories through the CLI against the server (--server, since --url names the repository)', async () => {
    const added = cliJson(await runCapstan(['repos', 'add', 'second', '--url', repo.origin, '--path', 'ml', '--server', server.url, '--json']));
    assert.equal(added.name, 'second');
    assert.match(added.webhookSecret, /^whsec_/);
    const list = cliJson(await runCapstan(['repos', 'list', '--url', server.url, '--json']));
    assert.deepEqual(list.map((r: any) => r.name), ['second', 'wh']);
    assert.ok(!JSON.stringify(list).includes('whsec_'), 'the webhook secret is shown only when added');
    const missing = cliProblem(await runCapstan(['repos', 'add', 'third', '--server', server.url, '--json']));
    assert.equal(missing.code, 'CAPSTAN_GITOPS_REPOSITORY_INVALID');
    assert.match(missing.detail, /--url <git URL or local path> is required/);
  });

  it('shows notification subscriptions and their delivery log through the CLI over --url', async () => {
    const dir = repo.work;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/notify.yaml`, 'kind: Notification\nname: ops-bus\nevents: [model_version.*]\ntarget:\n  nats: { subject: capstan.ops }\n');
    const applied = cliJson(await runCapstan(['apply', '-f', `${dir}/notify.yaml`, '--url', server.url, '--json']));
    assert.deepEqual(applied.changes.map((c: any) => [c.kind, c.action]), [['Notification', 'create']]);
    const list = cliJson(await runCapstan(['notifications', 'list', '--url', server.url, '--json']));
    assert.deepEqual(list.map((n: any) => n.spec.name), ['ops-bus']);
    assert.deepEqual(cliJson(await runCapstan(['notifications', 'log', 'ops-bus', '--url', server.url, '--json'])), [], 'no model event since it was applied');
    const human = await runCapstan(['notifications', 'log', 'nope', '--url', server.url]);
    assert.equal(human.code, 1);
    assert.match(human.stderr + human.stdout, /CAPSTAN_NOTIFICATION_NOT_FOUND/);
  });
});

describe('repository polling', () => {
  let server: TestServer;
  let repo: GitFixture;
  before(async () => {
    server = await startTestServer({ 'gitops.pollMs': 300 }, { background: true });
    repo = gitFixture();
  });
  after(async () => {
    await server?.dispose();
    if (repo) rmSync(repo.dir, { recursive: true, force: true });
  });

  it('applies a pushed commit at the next poll, without any webhook', async () => {
    repo.push({ 'models.yaml': 'kind: ModelGroup\nname: polled\ndescription: one\n' }, 'one');
    const gitops = server.platform.context<GitopsService>('gitops');
    await gitops.addRepository({ name: 'polled', url: repo.origin });
    await pollUntil('the first commit applied', async () => ((await server.platform.registry.listModels()).some((m) => m.name === 'polled') ? true : undefined));
    const second = repo.push({ 'models.yaml': 'kind: ModelGroup\nname: polled\ndescription: two\n' }, 'two');
    await pollUntil('the second commit applied', async () => ((await gitops.describeRepository('polled')).appliedCommit === second ? true : undefined));
    assert.equal((await server.platform.registry.getModel('polled')).description, 'two');
  });
});
