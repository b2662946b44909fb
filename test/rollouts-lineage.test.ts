import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCapstan } from './support/capstan-cli.js';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import type { RolloutService } from '../src/rollouts/index.js';
import { writeAdderPackage } from '../src/rollouts/test-support/rollout-fixtures.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';

const COMMIT = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';

for (const factory of await testDatabases()) {
  describe(`deployment lineage (${factory.name})`, { skip: factory.skip }, () => {
    let db: TestDatabase;
    let dir: string;
    let platform: Platform;
    let rollouts: RolloutService;

    before(async () => {
      db = await factory.create();
      await db.db.close();
      dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-lineage-'));
      platform = await openPlatform({ config: compileConfig({ flags: { home: dir, databaseUrl: db.url }, env: {}, cwd: dir }), logger: silentLogger() });
      rollouts = platform.context<RolloutService>('rollouts');
      await registerApproved(platform.registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v1')) });
      // Version 2 was trained by a pipeline a repository sync started: the registry holds its commit.
      await registerApproved(platform.registry, 'adder', { packageDir: writeAdderPackage(path.join(dir, 'v2')), lineage: { repository: 'ml-platform', commit: COMMIT } });
      await platform.serving.create('calc', { variants: [{ name: 'primary', model: 'models:/adder/1' }] });
    });
    after(async () => {
      await platform?.close();
      await db?.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    it('records the repository and commit of the model version a deployment puts in service, and shows them in the CLI', async () => {
      const d = await rollouts.start('calc', { model: 'models:/adder/2', policy: { strategy: 'all-at-once' } });
      const expected = [{ variant: d.green[0].name, model: 'adder', version: 2, repository: 'ml-platform', commit: COMMIT }];
      assert.deepEqual(d.lineage, expected);
      const [stored] = await rollouts.list('calc');
      assert.deepEqual(stored.lineage, expected, 'the lineage is stored with the deployment');
      const env = { CAPSTAN_HOME: dir, CAPSTAN_DATABASE_URL: db.url };
      const text = await runCapstan(['endpoints', 'deployments', 'calc', '--id', d.id], { env, cwd: dir });
      assert.match(text.stdout, new RegExp(`commit: +${d.green[0].name}=adder/2 from ml-platform@${COMMIT}`));
    });

    it('records no lineage for a version that has no commit', async () => {
      const d = await rollouts.start('calc', { model: 'models:/adder/1', policy: { strategy: 'all-at-once' }, force: true });
      assert.deepEqual(d.lineage, []);
    });
  });
}
