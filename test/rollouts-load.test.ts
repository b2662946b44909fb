import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import type { Deployment, RolloutService } from '../src/rollouts/index.js';
import { autocannon, writeAdderPackage } from '../src/rollouts/test-support/rollout-fixtures.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';

const BODY = JSON.stringify({ a: 2, b: 3 });
const EVAL_S = 1;
const CANARY = 20;

interface Server {
  platform: Platform;
  app: CapstanApp;
  url: string;
  stop(): Promise<void>;
}

// Under autocannon load: a version failing 30 % of its requests is rolled back by a canary deployment
// with a bounded number of failures users saw; a healthy version completes linear 4 x 25 % with none.
// Once with one serving process and once with two sharing the metadata database (both drive rollouts;
// the deployment lease lets one of them move the traffic).
for (const factory of await testDatabases()) {
  for (const processes of [1, 2]) {
    describe(`rollouts under load, ${processes} serving process(es) (${factory.name})`, { skip: factory.skip }, () => {
      let db: TestDatabase;
      let dir: string;
      const servers: Server[] = [];
      const rollouts = () => servers[0].platform.context<RolloutService>('rollouts');

      async function startServer(name: string): Promise<Server> {
        const platform = await openPlatform({
          config: compileConfig({
            flags: { home: path.join(dir, name), databaseUrl: db.url, artifacts: `file://${path.join(dir, 'artifacts')}`, 'serving.statsFlushMs': 200, 'rollouts.tickMs': 100, 'rollouts.leaseMs': 2000 },
            env: {},
            cwd: dir,
          }),
          logger: silentLogger(),
        });
        // The endpoint host (sync with the database) and the rollout controller, as `capstan up` runs them.
        const started = platform.background.filter((s) => s.name === 'endpoint-host' || s.name === 'rollout-controller');
        for (const s of started) await s.start();
        const app = await buildApp(platform);
        await app.listen({ host: '127.0.0.1', port: 0 });
        const port = (app.server.address() as { port: number }).port;
        return {
          platform,
          app,
          url: `http://127.0.0.1:${port}/endpoints/calc/invocations`,
          async stop() {
            await app.close();
            for (const s of [...started].reverse()) await s.stop();
            await platform.close();
          },
        };
      }

      /** Load on every server at once; the failures and totals summed. */
      async function load(seconds: number) {
        const results = await Promise.all(servers.map((s) => autocannon(s.url, BODY, seconds, 8)));
        return { total: results.reduce((a, r) => a + r.total, 0), failed: results.reduce((a, r) => a + r.failed, 0), reqPerSec: results.reduce((a, r) => a + r.reqPerSec, 0) };
      }

      before(async () => {
        db = await factory.create();
        await db.db.close();
        dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-rollouts-'));
        for (let i = 0; i < processes; i++) servers.push(await startServer(`p${i}`));
        const registry = servers[0].platform.registry;
        await registerApproved(registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v1')) });
        await registerApproved(registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v2'), 30) });
        await registerApproved(registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v3')) });
        const ep = await servers[0].platform.serving.create('calc', { variants: [{ name: 'primary', model: 'models:/adder/1' }] });
        assert.equal(ep.status, 'InService', ep.statusReason ?? '');
        for (const s of servers.slice(1)) await s.platform.serving.host.sync();
      });
      after(async () => {
        for (const s of servers) await s.stop().catch(() => {});
        await db?.dispose().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      });

      it(`rolls a 30 %-failing version back from a ${CANARY} % canary, with failures users saw within canary share x (interval + detection)`, async () => {
        const running = load(8);
        await new Promise((r) => setTimeout(r, 1000));
        const started = await rollouts().start('calc', {
          model: 'models:/adder/2',
          policy: { strategy: 'canary', canaryPercent: CANARY, waitSeconds: 600, evaluationIntervalSeconds: EVAL_S, alarms: [{ type: 'error-rate', threshold: 0.05, windowSeconds: 10, minRequests: 10 }] },
        });
        const done = await pollUntil('the canary rolled back', async () => {
          const d = await rollouts().get('calc', started.id);
          return d.status === 'Running' ? undefined : d;
        });
        const seen = await running;
        assert.equal(done.status, 'RolledBack', JSON.stringify(done));
        assert.equal(done.alarm?.alarm, 'error-rate>0.05');
        assert.ok(done.alarm!.evaluation.green.errorRate > 0.05, JSON.stringify(done.alarm));
        assert.match(done.reason ?? '', /alarm error-rate>0.05 fired/);
        const ep = await servers[0].platform.serving.describe('calc');
        assert.deepEqual(ep.variants.map((v) => [v.name, v.resolved.version, v.weight]), [['primary', 1, 1]], 'blue alone serves again, at its old weight');
        // Green was exposed from its first step until the rollback; detection is one more evaluation
        // interval (the statistics flush and the controller's tick fit in it).
        const rollbackS = (Date.parse(done.finishedAt!) - Date.parse(done.steps[0].at)) / 1000;
        const bound = (CANARY / 100) * seen.reqPerSec * (EVAL_S + EVAL_S + processes * 2);
        assert.ok(seen.failed > 0, 'the broken version did fail some requests');
        assert.ok(seen.failed <= bound, `users saw ${seen.failed} failures of ${seen.total}; the bound is ${bound.toFixed(0)} (rollback after ${rollbackS} s at ${seen.reqPerSec.toFixed(0)} req/s)`);
      });

      it('completes a healthy linear 4 x 25 % deployment under load with zero failed requests', async () => {
        const running = load(9);
        await new Promise((r) => setTimeout(r, 500));
        const started = await rollouts().start('calc', {
          model: 'models:/adder/3',
          policy: { strategy: 'linear', linearStepPercent: 25, waitSeconds: 1, evaluationIntervalSeconds: EVAL_S, alarms: [{ type: 'error-rate', threshold: 0.05, windowSeconds: 10 }] },
        });
        const done: Deployment = await pollUntil('the linear deployment finished', async () => {
          const d = await rollouts().get('calc', started.id);
          return d.status === 'Running' ? undefined : d;
        });
        const seen = await running;
        assert.equal(done.status, 'Succeeded', JSON.stringify(done));
        assert.deepEqual(done.steps.filter((s) => s.phase === 'shifting' || (s.phase === 'baking' && s.note === undefined)).map((s) => s.greenPercent), [25, 50, 75, 100]);
        assert.equal(seen.failed, 0, `${seen.failed} of ${seen.total} requests failed`);
        assert.ok(seen.total > 0);
        const ep = await servers[0].platform.serving.describe('calc');
        assert.deepEqual(ep.variants.map((v) => [v.resolved.version, v.weight]), [[3, 1]], 'green alone serves, at its own weight');
        const history = await rollouts().list('calc');
        assert.deepEqual(history.map((d) => d.status), ['Succeeded', 'RolledBack']);
      });
    });
  }
}
