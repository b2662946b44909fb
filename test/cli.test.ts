import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { CapstanProcess, cliJson, runCapstan } from './support/capstan-cli.js';

/** Runs `capstan <args>` from source in `cwd` with only the given CAPSTAN_* variables. */
const capstan = (args: string[], cwd: string, env: Record<string, string> = {}) => runCapstan(args, { cwd, env });
const json = cliJson;

describe('capstan CLI', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('config --json prints the resolved configuration with flags over env and the database password redacted', async () => {
    const run = await capstan(['config', '--json', '--home', 'from-flag'], dir, {
      CAPSTAN_HOME: 'from-env',
      CAPSTAN_PORT: '8123',
      CAPSTAN_DATABASE_URL: 'postgres://capstan:hunter2@db.example:5432/capstan',
    });
    const c = json(run);
    assert.equal(c.home, path.join(dir, 'from-flag'));
    assert.equal(c.server.port, 8123);
    assert.equal(c.databaseUrl, 'postgres://capstan:***@db.example:5432/capstan');
    assert.ok(!run.stdout.includes('hunter2'));
  });

  it('migrate --json applies the migrations once, then reports nothing to apply; --status lists them', async () => {
    const home = path.join(dir, 'migrate');
    const first = json(await capstan(['migrate', '--json'], dir, { CAPSTAN_HOME: home }));
    assert.ok(first.applied.includes('0001_foundation'), JSON.stringify(first));
    assert.equal(first.current, first.applied[first.applied.length - 1]);
    const second = json(await capstan(['migrate', '--json'], dir, { CAPSTAN_HOME: home }));
    assert.deepEqual(second.applied, []);
    assert.equal(second.current, first.current);
    const status = json(await capstan(['migrate', '--status', '--json'], dir, { CAPSTAN_HOME: home }));
    assert.deepEqual(status.pending, []);
    assert.ok(status.migrations.every((m: { appliedAt: string | null }) => m.appliedAt));
  });

  it('keys create --json prints the secret once; keys list never shows it; keys revoke revokes by name', async () => {
    const env = { CAPSTAN_HOME: path.join(dir, 'keys') };
    const created = json(await capstan(['keys', 'create', '--name', 'ci', '--role', 'admin', '--json'], dir, env));
    assert.match(created.key, /^cap_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.info.role, 'admin');
    const listRun = await capstan(['keys', 'list', '--json'], dir, env);
    const list = json(listRun);
    assert.equal(list.length, 1);
    assert.equal(list[0].name, 'ci');
    assert.ok(!listRun.stdout.includes(created.key));
    const revoked = json(await capstan(['keys', 'revoke', 'ci', '--json'], dir, env));
    assert.ok(revoked.revokedAt);
  });

  it('--help names the command groups, the decision service included', async () => {
    const run = await capstan(['--help'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /pipelines/);
    assert.match(run.stdout, /^ {2}decisions +Decision service: /m);
  });

  it('reports an error as one line naming the code and exits non-zero, changing nothing', async () => {
    const env = { CAPSTAN_HOME: path.join(dir, 'errors') };
    const run = await capstan(['keys', 'create', '--name', 'x', '--role', 'root'], dir, env);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, 'error: unknown role "root"; use one of admin, editor, approver, invoker, viewer (CAPSTAN_AUTH_ROLE_INVALID)\n');
    assert.deepEqual(json(await capstan(['keys', 'list', '--json'], dir, env)), []);

    const bad = await capstan(['config'], dir, { CAPSTAN_PORT: 'eighty' });
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'error: server.port (from CAPSTAN_PORT): expected an integer, got "eighty" (CAPSTAN_CONFIG_INVALID)\n');
  });

  it('prints the problem document on stdout with --json when a command fails', async () => {
    const run = await capstan(['keys', 'revoke', 'nobody', '--json'], dir, { CAPSTAN_HOME: path.join(dir, 'errors-json') });
    assert.equal(run.code, 1);
    const p = JSON.parse(run.stdout);
    assert.equal(p.code, 'CAPSTAN_AUTH_KEY_NOT_FOUND');
    assert.equal(p.detail, 'no active API key "nobody"');
  });

  describe('against a server (--url)', () => {
    let t: TestServer;
    let adminKey: string;
    before(async () => {
      t = await startTestServer({ 'server.auth': true });
      adminKey = (await t.platform.apiKeys.create('root', 'admin')).key;
    });
    after(() => t?.dispose());

    it('creates and lists keys through the SDK with an admin key', async () => {
      const env = { CAPSTAN_URL: t.url, CAPSTAN_API_KEY: adminKey };
      const created = json(await capstan(['keys', 'create', '--name', 'remote', '--role', 'viewer', '--json'], dir, env));
      assert.equal(created.info.role, 'viewer');
      const names = json(await capstan(['keys', 'list', '--json'], dir, env)).map((k: { name: string }) => k.name);
      assert.deepEqual(names.sort(), ['remote', 'root']);
      assert.ok(await t.platform.apiKeys.authenticate(created.key), 'the key works on the server');
    });

    it('fails with the server error code when no key is sent', async () => {
      const run = await capstan(['keys', 'list', '--url', t.url], dir);
      assert.equal(run.code, 1);
      assert.equal(run.stderr, 'error: send an API key as "Authorization: Bearer <key>" (CAPSTAN_AUTH_REQUIRED)\n');
    });
  });

  it('up serves /healthz, /openapi.json and /docs on a free port, and exits 0 on SIGTERM after a graceful shutdown', async () => {
    const up = new CapstanProcess(['up', '--port', '0', '--json'], { cwd: dir, env: { CAPSTAN_HOME: path.join(dir, 'up'), CAPSTAN_LOG_LEVEL: 'warn' } });
    try {
      const info = await up.until('the server address', (p) => p.documents()[0], 120_000);
      assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(info.docs, `${info.url}/docs`);
      assert.equal((await fetch(`${info.url}/healthz`)).status, 200);
      assert.equal((await fetch(info.openapi)).status, 200);
      const docs = await fetch(info.docs);
      assert.equal(docs.status, 200);
      assert.match(await docs.text(), /swagger/i);
      up.kill('SIGTERM');
      const { code, signal } = await up.exited;
      assert.equal(signal, null);
      assert.equal(code, 0, up.stderr);
    } finally {
      up.kill('SIGKILL');
    }
  });
});
