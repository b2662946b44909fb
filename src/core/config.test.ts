import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig, debugRequested, redactConfig, redactUrl, runningInCi } from './config.js';
import { CapstanError } from './errors.js';

describe('configuration', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const yaml = (text: string) => {
    const file = path.join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    return file;
  };

  it('uses the defaults when nothing is set: home ./.capstan, SQLite and file artifacts inside it, loopback bind', () => {
    const c = compileConfig({ env: {}, cwd: dir });
    assert.equal(c.home, path.join(dir, '.capstan'));
    assert.equal(c.databaseUrl, `sqlite://${path.join(dir, '.capstan', 'capstan.db')}`);
    assert.equal(c.artifacts, `file://${path.join(dir, '.capstan', 'artifacts')}`);
    assert.equal(c.server.host, '127.0.0.1');
    assert.equal(c.server.port, 7070);
    assert.equal(c.server.auth, false);
    assert.equal(c.server.bodyLimit, 1024 * 1024);
    assert.equal(c.sqlite.synchronous, 'OFFLOADED');
  });

  it('takes flags over environment over capstan.yaml over defaults, setting by setting', () => {
    const file = yaml('server:\n  port: 1111\n  host: 127.0.0.2\n  bodyLimit: 4096\nqueue:\n  maxAttempts: 9\n');
    const env = { CAPSTAN_PORT: '2222', CAPSTAN_HOST: '127.0.0.3' };
    const c = compileConfig({ env, file, cwd: dir, flags: { 'server.port': 3333 } });
    assert.equal(c.server.port, 3333, 'flag beats env and file');
    assert.equal(c.server.host, '127.0.0.3', 'env beats file');
    assert.equal(c.server.bodyLimit, 4096, 'file beats default');
    assert.equal(c.queue.maxAttempts, 9);
    assert.equal(c.queue.leaseMs, 30_000, 'default when nothing sets it');
  });

  it('finds ./capstan.yaml in the working directory, or the file named by CAPSTAN_CONFIG', () => {
    const cwd = mkdtempSync(path.join(dir, 'cwd-'));
    writeFileSync(path.join(cwd, 'capstan.yaml'), 'logLevel: debug\n');
    assert.equal(compileConfig({ env: {}, cwd }).logLevel, 'debug');
    const other = yaml('logLevel: warn\n');
    assert.equal(compileConfig({ env: { CAPSTAN_CONFIG: other }, cwd }).logLevel, 'warn');
  });

  it('resolves a relative home against the working directory and derives the DB and artifact locations from it', () => {
    const c = compileConfig({ env: { CAPSTAN_HOME: 'data' }, cwd: dir });
    assert.equal(c.home, path.join(dir, 'data'));
    assert.match(c.databaseUrl, /data\/capstan\.db$/);
  });

  it('parses booleans, lists and enums from environment strings', () => {
    const c = compileConfig({
      env: { CAPSTAN_AUTH: 'yes', CAPSTAN_OUTBOUND_ALLOW_HOSTS: 'a.example:80, 127.0.0.1:9000', CAPSTAN_SQLITE_SYNCHRONOUS: 'normal' },
      cwd: dir,
    });
    assert.equal(c.server.auth, true);
    assert.deepEqual(c.outbound.allowHosts, ['a.example:80', '127.0.0.1:9000']);
    assert.equal(c.sqlite.synchronous, 'NORMAL');
  });

  const invalid = (sources: Parameters<typeof compileConfig>[0], setting: string, message: RegExp) => {
    assert.throws(
      () => compileConfig({ cwd: dir, ...sources }),
      (err: unknown) => {
        assert.ok(err instanceof CapstanError);
        assert.equal(err.code, 'CAPSTAN_CONFIG_INVALID');
        assert.equal(err.fields.setting, setting);
        assert.match(err.message, message);
        return true;
      },
    );
  };

  it('rejects an invalid value naming the setting and where it came from', () => {
    invalid({ env: { CAPSTAN_PORT: 'eighty' } }, 'server.port', /^server\.port \(from CAPSTAN_PORT\): expected an integer, got "eighty"$/);
    invalid({ env: {}, flags: { 'server.port': -1 } }, 'server.port', /server\.port \(from flag\): must be at least 0/);
    invalid({ env: { CAPSTAN_AUTH: 'maybe' } }, 'server.auth', /server\.auth \(from CAPSTAN_AUTH\): expected true or false/);
    invalid({ env: { CAPSTAN_LOG_LEVEL: 'loud' } }, 'logLevel', /expected one of fatal, error/);
    invalid({ env: { CAPSTAN_DATABASE_URL: 'mysql://x' } }, 'databaseUrl', /databaseUrl must start with sqlite:\/\//);
    invalid({ env: { CAPSTAN_ARTIFACTS: 'ftp://x' } }, 'artifacts', /artifacts must start with file:\/\//);
    invalid({ env: { CAPSTAN_QUEUE_LEASE_MS: '1000', CAPSTAN_QUEUE_HEARTBEAT_MS: '1000' } }, 'queue.heartbeatMs', /shorter than queue\.leaseMs/);
  });

  it('reads server.allowedHosts and server.allowedOrigins from the environment and refuses values that are not hosts or origins', () => {
    const c = compileConfig({ env: { CAPSTAN_ALLOWED_HOSTS: 'capstan.internal:7070, ml.example.com', CAPSTAN_ALLOWED_ORIGINS: 'https://ui.example.com' }, cwd: dir });
    assert.deepEqual(c.server.allowedHosts, ['capstan.internal:7070', 'ml.example.com']);
    assert.deepEqual(c.server.allowedOrigins, ['https://ui.example.com']);
    assert.deepEqual(compileConfig({ env: {}, cwd: dir }).server.allowedHosts, []);
    invalid({ env: { CAPSTAN_ALLOWED_HOSTS: 'http://x.example' } }, 'server.allowedHosts', /is not a host or host:port/);
    invalid({ env: { CAPSTAN_ALLOWED_ORIGINS: 'https://ui.example.com/app' } }, 'server.allowedOrigins', /is not an origin like https:\/\/ui\.example\.com/);
    invalid({ env: { CAPSTAN_ALLOWED_ORIGINS: 'ui.example.com' } }, 'server.allowedOrigins', /is not an origin/);
  });

  it('reads the outbox settings with their defaults, and refuses a test crash hook that names no point and file', () => {
    const d = compileConfig({ env: {}, cwd: dir });
    assert.deepEqual(d.outbox, { pollMs: 500, leaseMs: 30_000, maxAttempts: 10, retentionHours: 168 });
    assert.equal(d.testing.outboxCrash, undefined);
    const c = compileConfig({ env: { CAPSTAN_OUTBOX_LEASE_MS: '1500', CAPSTAN_TEST_OUTBOX_CRASH: 'after-deliver:/tmp/m' }, cwd: dir });
    assert.equal(c.outbox.leaseMs, 1500);
    assert.equal(c.testing.outboxCrash, 'after-deliver:/tmp/m');
    invalid({ env: { CAPSTAN_TEST_OUTBOX_CRASH: 'sometime:/tmp/m' } }, 'testing.outboxCrash', /before-deliver:<file> or after-deliver:<file>/);
  });

  it('rejects YAML in capstan.yaml over the alias limit with CAPSTAN_REQUEST_YAML_LIMIT', () => {
    const bomb = 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n';
    assert.throws(() => compileConfig({ env: {}, cwd: dir, file: yaml(bomb) }), (e: any) => e.code === 'CAPSTAN_REQUEST_YAML_LIMIT');
  });

  it('rejects an unknown setting and a bad value in capstan.yaml, naming the file and the setting', () => {
    invalid({ env: {}, file: yaml('server:\n  prot: 80\n') }, 'server.prot', /unknown setting server\.prot/);
    invalid({ env: {}, file: yaml('queue:\n  concurrency: 0\n') }, 'queue.concurrency', /queue\.concurrency \(from .*\.yaml\): must be at least 1/);
  });

  it('rejects YAML that does not parse, or is not a mapping, with the file name', () => {
    assert.throws(() => compileConfig({ env: {}, cwd: dir, file: yaml('server: [\n') }), (e: any) => e.code === 'CAPSTAN_CONFIG_INVALID' && /^c-.*\.yaml: /.test(e.message));
    assert.throws(() => compileConfig({ env: {}, cwd: dir, file: yaml('- a\n- b\n') }), /expected a mapping at the top level/);
  });

  it('redacts secrets, including the password inside a PostgreSQL URL, without changing the config itself', () => {
    const c = compileConfig({
      cwd: dir,
      env: {
        CAPSTAN_DATABASE_URL: 'postgres://capstan:s3cr3t-pw@db.internal:5432/capstan',
        CAPSTAN_S3_ACCESS_KEY_ID: 'AKIAEXAMPLE',
        CAPSTAN_S3_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI',
        CAPSTAN_API_KEY: 'cap_supersecret',
      },
    });
    const r = redactConfig(c) as any;
    assert.equal(r.databaseUrl, 'postgres://capstan:***@db.internal:5432/capstan');
    assert.equal(r.s3.accessKeyId, '***');
    assert.equal(r.s3.secretAccessKey, '***');
    assert.equal(r.apiKey, '***');
    const text = JSON.stringify(r);
    for (const secret of ['s3cr3t-pw', 'AKIAEXAMPLE', 'wJalrXUtnFEMI', 'cap_supersecret']) assert.ok(!text.includes(secret), `${secret} leaked`);
    assert.equal(c.databaseUrl, 'postgres://capstan:s3cr3t-pw@db.internal:5432/capstan', 'the original is untouched');
  });

  it('redacts a URL password even when the URL does not parse', () => {
    assert.equal(redactUrl('postgres://u:p@ss@host/db'), 'postgres://u:***@host/db');
    assert.equal(redactUrl('postgres://u@host/db'), 'postgres://u@host/db');
  });

  it("uses a command's own default only when no flag, environment variable or capstan.yaml sets the value", () => {
    assert.equal(compileConfig({ env: {}, cwd: dir, defaults: { logLevel: 'warn' } }).logLevel, 'warn');
    assert.equal(compileConfig({ env: { CAPSTAN_LOG_LEVEL: 'debug' }, cwd: dir, defaults: { logLevel: 'warn' } }).logLevel, 'debug');
    assert.equal(compileConfig({ env: {}, cwd: dir, file: yaml('logLevel: error\n'), defaults: { logLevel: 'warn' } }).logLevel, 'error');
    assert.equal(compileConfig({ env: {}, cwd: dir }).logLevel, 'info');
  });

  it('reads CI and CAPSTAN_DEBUG as booleans, so CI=false and CAPSTAN_DEBUG=0 are off', () => {
    for (const off of [undefined, '', 'false', '0', 'no', 'off', 'FALSE']) {
      assert.equal(runningInCi({ CI: off }), false, `CI=${off}`);
      assert.equal(debugRequested({ CAPSTAN_DEBUG: off }), false, `CAPSTAN_DEBUG=${off}`);
    }
    for (const on of ['true', '1', 'yes', 'on', 'TRUE']) {
      assert.equal(runningInCi({ CI: on }), true, `CI=${on}`);
      assert.equal(debugRequested({ CAPSTAN_DEBUG: on }), true, `CAPSTAN_DEBUG=${on}`);
    }
  });
});
