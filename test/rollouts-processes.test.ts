import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { platformMigrations } from '../src/platform/migrations.js';
import { openPlatform } from '../src/platform/platform.js';
import { openDatabase } from '../src/storage/database.js';
import { autocannon, writeAdderPackage } from '../src/rollouts/test-support/rollout-fixtures.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { CapstanProcess } from './support/capstan-cli.js';

const BODY = JSON.stringify({ a: 2, b: 3 });
const pg = (await testDatabases()).find((f) => f.name === 'postgres')!;

// Two `capstan up` processes on one PostgreSQL database and one artifact store, both serving the
// endpoint under load and both running the rollout controller; the deployment lease lets one drive.
describe('rollouts under load on two capstan up processes sharing PostgreSQL', { skip: pg.skip }, () => {
  let db: TestDatabase;
  let dir: string;
  const ups: CapstanProcess[] = [];
  const urls: string[] = [];

  async function call(method: string, url: string, body?: unknown) {
    const res = await fetch(url, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, json: (await res.json()) as any };
  }

  async function underLoad(seconds: number, policy: Record<string, unknown>, model: string) {
    const load = Promise.all(urls.map((u) => autocannon(`${u}/endpoints/calc/invocations`, BODY, seconds, 8)));
    await new Promise((r) => setTimeout(r, 1000));
    const started = await call('POST', `${urls[0]}/api/v1/endpoints/calc/deployments`, { model, policy });
    assert.equal(started.status, 201, JSON.stringify(started.json));
    const done = await pollUntil(
      'the deployment ended',
      async () => {
        const d = (await call('GET', `${urls[1]}/api/v1/endpoints/calc/deployments/${started.json.id}`)).json;
        return d.status === 'Running' ? undefined : d;
      },
      { deadlineMs: 120_000 },
    );
    const seen = await load;
    return { done, failed: seen.reduce((a, r) => a + r.failed, 0), total: seen.reduce((a, r) => a + r.total, 0), reqPerSec: seen.reduce((a, r) => a + r.reqPerSec, 0) };
  }

  before(async () => {
    db = await pg.create();
    await db.db.close();
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-rollout-procs-'));
    const artifacts = `file://${path.join(dir, 'artifacts')}`;
    const setup = await openPlatform({ config: compileConfig({ flags: { home: path.join(dir, 'setup'), databaseUrl: db.url, artifacts }, env: {}, cwd: dir }), logger: silentLogger() });
    try {
      await registerApproved(setup.registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v1')) });
      await registerApproved(setup.registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v2'), 30) });
      await registerApproved(setup.registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v3')) });
      await registerApproved(setup.registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v4'), 0, 50) });
      await setup.serving.create('calc', { variants: [{ name: 'primary', model: 'models:/adder/1' }] });
    } finally {
      await setup.close();
    }
    for (const name of ['a', 'b']) {
      const env = { CAPSTAN_HOME: path.join(dir, name), CAPSTAN_DATABASE_URL: db.url, CAPSTAN_ARTIFACTS: artifacts, CAPSTAN_SERVING_STATS_FLUSH_MS: '200', CAPSTAN_ROLLOUTS_TICK_MS: '100', CAPSTAN_LOG_LEVEL: 'warn' };
      const up = new CapstanProcess(['up', '--port', '0', '--json'], { cwd: dir, env });
      ups.push(up);
      urls.push((await up.until(`process ${name} listening`, (p) => p.documents()[0], 120_000)).url);
    }
  });
  after(async () => {
    for (const up of ups) await up.stop('SIGTERM').catch(() => {});
    await db?.dispose().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('rolls a 30 %-failing canary back with failures within canary share x (interval + detection + sync)', async () => {
    const r = await underLoad(8, { strategy: 'canary', canaryPercent: 20, waitSeconds: 600, evaluationIntervalSeconds: 1, alarms: [{ type: 'error-rate', threshold: 0.05, windowSeconds: 10 }] }, 'models:/adder/2');
    assert.equal(r.done.status, 'RolledBack', JSON.stringify(r.done));
    assert.equal(r.done.alarm.alarm, 'error-rate>0.05');
    // Green is exposed in the other process until its next sync (2 s) after the rollback too.
    const bound = 0.2 * r.reqPerSec * (1 + 1 + 2 * 2);
    assert.ok(r.failed > 0 && r.failed <= bound, `users saw ${r.failed} failures of ${r.total}; bound ${bound.toFixed(0)}`);
    // The row says RolledBack first (so no other process drives it on), then blue is restored.
    const names = await pollUntil('blue serves alone', async () => {
      const ep = (await call('GET', `${urls[1]}/api/v1/endpoints/calc`)).json;
      return ep.variants.length === 1 ? ep.variants.map((v: { name: string }) => v.name) : undefined;
    });
    assert.deepEqual(names, ['primary']);
  });

  it('completes a healthy linear 4 x 25 % deployment with zero failed requests', async () => {
    const r = await underLoad(10, { strategy: 'linear', linearStepPercent: 25, waitSeconds: 1, evaluationIntervalSeconds: 1, alarms: [{ type: 'error-rate', threshold: 0.05, windowSeconds: 10 }] }, 'models:/adder/3');
    assert.equal(r.done.status, 'Succeeded', JSON.stringify(r.done));
    assert.equal(r.failed, 0, `${r.failed} of ${r.total} requests failed`);
    assert.ok(r.total > 0);
  });

  it("rolls back on a quality alarm whose shifted green scores only the process not driving the deployment saw", async () => {
    const policy = { strategy: 'canary', canaryPercent: 50, waitSeconds: 600, evaluationIntervalSeconds: 1, alarms: [{ type: 'quality', statistic: 'ks', threshold: 0.5, minRequests: 20, windowSeconds: 30 }] };
    const started = await call('POST', `${urls[0]}/api/v1/endpoints/calc/deployments`, { model: 'models:/adder/4', policy });
    assert.equal(started.status, 201, JSON.stringify(started.json));
    const meta = await openDatabase(db.url, { migrations: platformMigrations });
    let owner: string;
    try {
      const leases = meta.as<{ deployments: { id: string; lease_owner: string | null } }>();
      owner = await pollUntil('a process leases the deployment', async () => (await leases.selectFrom('deployments').select('lease_owner').where('id', '=', started.json.id).executeTakeFirst())?.lease_owner ?? undefined);
    } finally {
      await meta.close();
    }
    // The lease owner is host:pid:nonce.
    const driver = ups.findIndex((u) => u.child.pid === Number(owner.split(':').at(-2)));
    assert.ok(driver >= 0, `lease owner ${owner} is one of the two processes`);
    const other = 1 - driver;
    const blue = started.json.blue[0].name as string;
    const green = started.json.green[0].name as string;
    const invoke = (i: number, variant: string) => fetch(`${urls[i]}/endpoints/calc/invocations`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-capstan-target-variant': variant }, body: BODY }).then((r) => r.status);
    let greenAnswered = 0;
    // Blue answers on the driving process; green (score 5.5 instead of 0.5) answers only on the other one.
    const done = await pollUntil(
      'the quality alarm rolled the deployment back',
      async () => {
        for (let i = 0; i < 5; i++) {
          await invoke(driver, blue);
          if ((await invoke(other, green)) === 200) greenAnswered++;
        }
        const d = (await call('GET', `${urls[driver]}/api/v1/endpoints/calc/deployments/${started.json.id}`)).json;
        return d.status === 'Running' ? undefined : d;
      },
      { deadlineMs: 90_000 },
    );
    assert.equal(done.status, 'RolledBack', JSON.stringify(done));
    assert.equal(done.alarm.alarm, 'quality-ks>0.5');
    assert.equal(done.alarm.evaluation.value, 1);
    assert.ok(greenAnswered >= 20, `the other process answered ${greenAnswered} green requests`);
  });
});
