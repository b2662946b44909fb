import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../src/core/config.js';
import { isCapstanError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import type { RegistryService, Run } from '../src/registry/index.js';
import { metricRollups } from '../src/registry/migrations/0031-metric-rollups.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';

async function rejects(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isCapstanError(err), String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

// The console's reads of the registry: run pages sorted by metrics and params, metric series cut from
// their stored rollups, and the audit log across models — on SQLite and PostgreSQL, since the SQL differs from the usual.
for (const factory of await testDatabases()) {
  describe(`run search, metric series and audit log (${factory.name})`, { skip: factory.skip }, () => {
    let testDb: TestDatabase;
    let platform: Platform;
    let registry: RegistryService;
    let home: string;
    const runs: Run[] = [];

    before(async () => {
      testDb = await factory.create();
      home = mkdtempSync(path.join(os.tmpdir(), 'capstan-run-search-'));
      platform = await openPlatform({ config: compileConfig({ flags: { home, databaseUrl: testDb.url }, env: {}, cwd: home }), logger: silentLogger() });
      registry = platform.registry;
      for (let i = 0; i < 12; i++) {
        const run = await registry.createRun({ experiment: i < 8 ? 'sweep' : 'other', name: i === 3 ? 'lr_100%' : `trial-${i}`, params: { lr: `0.${i}`, ...(i % 2 ? { layers: i } : {}) } });
        // Run 5 has no accuracy: it sorts last both ways.
        if (i !== 5) await registry.logMetrics(run.id, [{ key: 'accuracy', value: (i * 7) % 12, step: 0 }]);
        if (i < 4) await registry.updateRun(run.id, { status: 'finished' });
        runs.push(run);
      }
    });

    after(async () => {
      await platform?.close();
      await testDb?.dispose();
      rmSync(home, { recursive: true, force: true });
    });

    it('sorts runs by a metric both ways with runs lacking it last, pages by offset and reports the total and column keys', async () => {
      const asc = await registry.searchRuns({ sort: 'metric:accuracy', order: 'asc', limit: 50 });
      assert.equal(asc.total, 12);
      const values = asc.runs.map((r) => r.metrics.accuracy);
      assert.deepEqual(values.slice(0, 11), [...values.slice(0, 11)].sort((a, b) => a - b));
      assert.equal(asc.runs[11].id, runs[5].id);
      const desc = await registry.searchRuns({ sort: 'metric:accuracy', order: 'desc', limit: 50 });
      assert.equal(desc.runs[0].metrics.accuracy, 10);
      assert.equal(desc.runs[11].id, runs[5].id);
      assert.deepEqual(asc.paramKeys, ['layers', 'lr']);
      assert.deepEqual(asc.metricKeys, ['accuracy']);

      const pages = [];
      for (let offset = 0; offset < 12; offset += 5) pages.push(...(await registry.searchRuns({ sort: 'param:lr', order: 'asc', offset, limit: 5 })).runs.map((r) => r.params.lr));
      assert.deepEqual(pages, runs.map((r) => r.params.lr).sort());
    });

    it('filters by experiment, status and a name fragment whose % is literal', async () => {
      const sweep = await registry.searchRuns({ experiment: 'sweep' });
      assert.equal(sweep.total, 8);
      assert.ok(sweep.runs.every((r) => r.experiment === 'sweep'));
      assert.deepEqual((await registry.searchRuns({ status: 'finished' })).runs.map((r) => r.id).sort(), runs.slice(0, 4).map((r) => r.id).sort());
      assert.deepEqual((await registry.searchRuns({ name: '0%' })).runs.map((r) => r.name), ['lr_100%']);
      assert.deepEqual((await registry.searchRuns({ name: 'TRIAL-1' })).runs.map((r) => r.name).sort(), ['trial-1', 'trial-10', 'trial-11']);
      assert.deepEqual((await registry.searchRuns({ ids: [runs[2].id, runs[9].id], sort: 'name', order: 'asc' })).runs.map((r) => r.name), ['trial-2', 'trial-9']);
      const newest = await registry.searchRuns({ experiment: 'other', limit: 1 });
      assert.deepEqual([newest.total, newest.runs[0].id, newest.paramKeys], [4, runs[11].id, ['layers', 'lr']]);
    });

    it('refuses a bad sort, order or limit', async () => {
      await rejects(registry.searchRuns({ sort: 'duration' }), 'CAPSTAN_REQUEST_INVALID', /sort must be startedAt, name, status, metric:<key> or param:<key>/);
      await rejects(registry.searchRuns({ sort: 'metric:' }), 'CAPSTAN_REGISTRY_METRIC_INVALID', /metric key "" is not valid/);
      await rejects(registry.searchRuns({ order: 'up' as 'asc' }), 'CAPSTAN_REQUEST_INVALID', /order must be asc or desc/);
      await rejects(registry.searchRuns({ limit: 501 }), 'CAPSTAN_REQUEST_INVALID', /limit must be an integer between 1 and 500/);
    });

    it('cuts a long series in the database to the asked points, keeping its spike and dip, and leaves short ones whole', async () => {
      const long = await registry.createRun({ experiment: 'series' });
      const points = Array.from({ length: 1000 }, (_, step) => ({ key: 'loss', step, value: step === 501 ? 99 : step === 733 ? -5 : 1 - step / 1000 }));
      await registry.logMetrics(long.id, points);
      const short = await registry.createRun({ experiment: 'series' });
      await registry.logMetrics(short.id, [{ key: 'loss', step: 0, value: 0.5 }, { key: 'loss', step: 1, value: 0.25 }]);
      const none = await registry.createRun({ experiment: 'series' });
      const [a, b, c] = await registry.metricSeries({ runs: [long.id, short.id, none.id], key: 'loss', points: 20 });
      assert.equal(a.total, 1000);
      assert.ok(a.points.length <= 20 && a.points.length >= 10, String(a.points.length));
      assert.deepEqual(a.points.map((p) => p[0]), [...a.points.map((p) => p[0])].sort((x, y) => x - y), 'by step');
      assert.ok(a.points.some(([s, v]) => s === 501 && v === 99), 'the spike survives');
      assert.ok(a.points.some(([s, v]) => s === 733 && v === -5), 'the dip survives');
      assert.deepEqual(b, { runId: short.id, key: 'loss', total: 2, points: [[0, 0.5], [1, 0.25]] });
      assert.deepEqual(c, { runId: none.id, key: 'loss', total: 0, points: [] });
    });

    it('cuts a series logged in batches, interleaved with another writer, exactly as the same series logged at once', async () => {
      const points = Array.from({ length: 5000 }, (_, step) => ({ key: 'loss', step, value: step === 4001 ? 7 : Math.cos(step / 97) }));
      const whole = await registry.createRun({ experiment: 'series' });
      await registry.logMetrics(whole.id, points);
      const pieces = await registry.createRun({ experiment: 'series' });
      // Out of order and concurrent: the stored buckets merge in the database, whatever the order.
      const batches = [points.slice(3000), points.slice(0, 1000), points.slice(1000, 2000), points.slice(2000, 3000)];
      await Promise.all(batches.map((b) => registry.logMetrics(pieces.id, b)));
      const [a, b] = await registry.metricSeries({ runs: [whole.id, pieces.id], key: 'loss', points: 100 });
      assert.equal(b.total, 5000);
      assert.deepEqual(b.points, a.points);
      assert.ok(a.points.length <= 100 && a.points.length >= 50, String(a.points.length));
      assert.ok(a.points.some(([s, v]) => s === 4001 && v === 7), 'the spike survives');
    });

    it('summarises series logged before the rollups existed when the migration runs', async () => {
      const run = await registry.createRun({ experiment: 'series' });
      await registry.logMetrics(run.id, Array.from({ length: 3000 }, (_, step) => ({ key: 'old', step, value: step === 1234 ? -9 : step / 3000 })));
      const before = await registry.metricSeries({ runs: [run.id], key: 'old', points: 60 });
      const db = platform.db.as<any>();
      await db.schema.dropTable('run_metric_rollups').execute();
      await metricRollups.up(db);
      const [after] = await registry.metricSeries({ runs: [run.id], key: 'old', points: 60 });
      assert.deepEqual(after, before[0]);
      assert.equal(after.total, 3000);
      assert.ok(after.points.some(([s, v]) => s === 1234 && v === -9));
    });

    it('refuses a series of a missing run or of more than 100 runs', async () => {
      await rejects(registry.metricSeries({ runs: [runs[0].id, 'run_nope'], key: 'accuracy' }), 'CAPSTAN_REGISTRY_RUN_NOT_FOUND', /no run "run_nope"/);
      await rejects(registry.metricSeries({ runs: Array.from({ length: 101 }, (_, i) => `run_${i}`), key: 'accuracy' }), 'CAPSTAN_REQUEST_INVALID', /runs must name 1 to 100 runs/);
    });

    it('lists every model\'s audit events newest first, filtered by actor, paged by cursor', async () => {
      for (const [i, name] of ['alpha', 'beta', 'gamma'].entries()) {
        await registry.createModel(name);
        await registry.setApprovalPolicy(name, { autoApprove: `metrics["auc"] >= 0.${i + 5}` }, { actor: i === 1 ? 'key:bob' : 'key:alice' });
      }
      const first = await registry.auditLog({ limit: 2 });
      assert.deepEqual(first.events.map((e) => [e.model, e.action, e.actor]), [['gamma', 'policy.changed', 'key:alice'], ['beta', 'policy.changed', 'key:bob']]);
      assert.ok(first.nextCursor);
      const second = await registry.auditLog({ limit: 2, cursor: first.nextCursor! });
      assert.deepEqual(second.events.map((e) => e.model), ['alpha']);
      assert.equal(second.nextCursor, null);
      assert.deepEqual((await registry.auditLog({ actor: 'key:bob' })).events.map((e) => [e.model, e.to]), [['beta', 'metrics["auc"] >= 0.6']]);
      assert.deepEqual((await registry.auditLog({ model: 'alpha', action: 'policy.changed' })).events.length, 1);
      await rejects(registry.auditLog({ cursor: 'yesterday' }), 'CAPSTAN_REQUEST_INVALID', /cursor must be the nextCursor of a previous page/);
      await rejects(registry.auditLog({ action: 'deleted' as 'alias.set' }), 'CAPSTAN_REQUEST_INVALID', /action must be one of/);
    });
  });
}
