import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import { toYaml, type GitopsService, type ResourceFile } from '../src/gitops/index.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';

const ENDPOINT = `kind: Endpoint
name: tenants
variants:
  - name: all
    multiModel:
      source: models:/ranker
      memoryBudgetBytes: 10485760
      loadWaitMs: 60000
`;

for (const factory of await testDatabases()) {
  describe(`capstan apply: a multi-model Endpoint (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestPlatform;
    let database: TestDatabase | undefined;
    let svc: GitopsService;
    let dir: string;
    const files = (docs: Record<string, string>): ResourceFile[] => Object.entries(docs).map(([p, text]) => ({ path: p, text, baseDir: dir }));

    before(async () => {
      database = factory.name === 'postgres' ? await factory.create() : undefined;
      t = await openTestPlatform(database ? { databaseUrl: database.url } : {});
      svc = t.platform.context<GitopsService>('gitops');
      dir = path.join(t.home, 'repo');
      mkdirSync(dir, { recursive: true });
      const v = await t.platform.registry.registerVersion('ranker', { packageDir: writeNcfPackage(path.join(t.home, 'pkg')).dir });
      await t.platform.registry.setApproval('ranker', v.version, { status: 'Approved' });
    });
    after(async () => {
      await t?.dispose();
      await database?.dispose();
    });

    it('applies an Endpoint whose variant has a multiModel block, serves a target model and round-trips unchanged', async () => {
      assert.deepEqual((await svc.apply({ files: files({ 'tenants.yaml': ENDPOINT }) })).changes.map((c) => c.action), ['create']);
      assert.deepEqual((await svc.apply({ files: files({ 'tenants.yaml': ENDPOINT }) })).changes.map((c) => c.action), ['unchanged']);
      const ep = await t.platform.serving.describe('tenants');
      assert.deepEqual(ep.variants[0].multiModel, { source: 'models:/ranker', memoryBudgetBytes: 10485760, maxModels: 32, loadWaitMs: 60000, failedRetryMs: 5000 });
      const out = await t.platform.serving.invoke('tenants', JSON.stringify({ user: 1001, items: [5001, 5002] }), { targetModel: 'ranker/1' });
      assert.equal(out.model, 'ranker/1');
      const [view] = await svc.get('endpoints', 'tenants');
      const replay = await svc.apply({ files: files({ 'e.yaml': toYaml(view.document) }), dryRun: true });
      assert.deepEqual(replay.changes.map((c) => c.action), ['unchanged']);
    });

    it('refuses a multiModel source that is neither a registry group nor an artifact prefix, naming the field; nothing is applied', async () => {
      const bad = ENDPOINT.replace('name: tenants', 'name: tenants-bad').replace('models:/ranker', 's3://bucket/models');
      try {
        await svc.apply({ files: files({ 'bad.yaml': bad }) });
        assert.fail('expected a refusal');
      } catch (err) {
        assert.ok(isCapstanError(err), String(err));
        assert.match(err.message, /variants\[0\]\.multiModel\.source must be models:\/<group> \(a registry model group\) or artifacts:\/<prefix>/);
      }
      await assert.rejects(t.platform.serving.describe('tenants-bad'), (e: unknown) => isCapstanError(e, 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND'));
    });
  });
}
