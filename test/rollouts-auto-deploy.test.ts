import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import type { RolloutService } from '../src/rollouts/index.js';
import { writeAdderPackage } from '../src/rollouts/test-support/rollout-fixtures.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';

for (const factory of await testDatabases()) {
  describe(`auto-deploy on model_version.approved (${factory.name})`, { skip: factory.skip }, () => {
    let db: TestDatabase;
    let dir: string;
    let platform: Platform;
    let rollouts: RolloutService;
    const services = () => platform.background.filter((s) => s.name === 'rollout-controller' || s.name === 'outbox-dispatcher');

    before(async () => {
      db = await factory.create();
      await db.db.close();
      dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-auto-deploy-'));
      platform = await openPlatform({ config: compileConfig({ flags: { home: dir, databaseUrl: db.url, 'outbox.pollMs': 50, 'rollouts.tickMs': 100 }, env: {}, cwd: dir }), logger: silentLogger() });
      rollouts = platform.context<RolloutService>('rollouts');
      for (const s of services()) await s.start();
    });
    after(async () => {
      for (const s of services().reverse()) await s.stop();
      await platform?.close();
      await db?.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    it('refuses a policy whose alarm does not compile, storing nothing', async () => {
      await assert.rejects(
        rollouts.setAutoDeploy('adder', { endpoint: 'auto', policy: { strategy: 'canary', alarms: [{ type: 'cel', expression: 'green.' }] } }),
        (err: Error & { code?: string }) => err.code === 'CAPSTAN_ROLLOUT_ALARM_INVALID' && /is not valid CEL/.test(err.message),
      );
      await assert.rejects(rollouts.getAutoDeploy('adder'), (err: Error & { code?: string }) => err.code === 'CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND');
    });

    it('creates the endpoint with the first approved version, then rolls each later approval out under the policy', async () => {
      const set = await rollouts.setAutoDeploy('adder', { endpoint: 'auto', policy: { strategy: 'canary', canaryPercent: 30, waitSeconds: 3600, alarms: [{ type: 'error-rate', threshold: 0.05 }] } }, { actor: 'local:tester' });
      assert.equal(set.supersede, true);
      const v1 = await platform.registry.registerVersion('adder', { packageDir: writeAdderPackage(path.join(dir, 'v1')) });
      await platform.registry.setApproval('adder', v1.version, { status: 'Approved' });
      const ep = await pollUntil('the endpoint was created', () => platform.serving.describe('auto').catch(() => undefined));
      assert.deepEqual(ep.variants.map((v) => v.resolved.version), [1]);
      const v2 = await platform.registry.registerVersion('adder', { packageDir: writeAdderPackage(path.join(dir, 'v2')) });
      await platform.registry.setApproval('adder', v2.version, { status: 'Approved' });
      const d = await pollUntil('the deployment started', async () => (await rollouts.list('auto'))[0]);
      assert.equal(d.status, 'Running');
      assert.equal(d.policy.canaryPercent, 30);
      assert.match(d.actor, /^system:auto-deploy:evt_/);
      const shifted = await pollUntil('green took its canary share', async () => {
        const e = await platform.serving.describe('auto');
        return e.variants.length === 2 ? e : undefined;
      });
      assert.deepEqual(shifted.variants.map((v) => [v.resolved.version, v.weight]), [[1, 70], [2, 30]]);
      // A newer approval supersedes the running deployment.
      const v3 = await platform.registry.registerVersion('adder', { packageDir: writeAdderPackage(path.join(dir, 'v3')) });
      await platform.registry.setApproval('adder', v3.version, { status: 'Approved' });
      const [latest, older] = await pollUntil('the newer approval rolled out', async () => {
        const list = await rollouts.list('auto');
        return list.length === 2 ? list : undefined;
      });
      assert.equal(latest.green[0].model, 'models:/adder/3');
      assert.equal(older.status, 'RolledBack');
      await rollouts.removeAutoDeploy('adder');
      await assert.rejects(rollouts.removeAutoDeploy('adder'), (err: Error & { code?: string }) => err.code === 'CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND');
    });
  });
}
