import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runningInCi } from '../src/core/config.js';
import type { GitopsService } from '../src/gitops/index.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { fintechFiles, gitFixture, type GitFixture } from './support/git-fixture.js';

const numpy = spawnSync('python3', ['-c', 'import numpy']).status === 0 ? undefined : 'python3 with numpy is needed to run the fraud-python steps';
if (numpy && runningInCi()) throw new Error(`CI=true and ${numpy}`);

for (const factory of await testDatabases()) {
  describe(`repositories: the fintech git flow (${factory.name})`, { skip: factory.skip ?? numpy }, () => {
    let t: TestPlatform;
    let database: TestDatabase | undefined;
    let svc: GitopsService;
    let repo: GitFixture;
    const commits: string[] = [];
    before(async () => {
      database = factory.name === 'postgres' ? await factory.create() : undefined;
      t = await openTestPlatform(database ? { databaseUrl: database.url } : {});
      svc = t.platform.context<GitopsService>('gitops');
      repo = gitFixture();
    });
    after(async () => {
      await t?.dispose();
      await database?.dispose();
      if (repo) rmSync(repo.dir, { recursive: true, force: true });
    });

    /** Syncs and waits for the executions the sync started; answers the sync. */
    async function syncAndRun() {
      const sync = await svc.syncRepository('fraud-ml');
      const started = (sync.summary.started ?? []) as { pipeline: string; executionId: string }[];
      for (const s of started) {
        const done = await t.platform.pipelines.wait(s.executionId);
        assert.equal(done.state, 'succeeded', `${done.error} ${JSON.stringify(done.steps.map((x) => [x.name, x.state, x.error]))}`);
      }
      return { sync, started };
    }

    it('a push creates the pipeline and runs it; the version records the commit', async () => {
      commits.push(repo.push(fintechFiles(), 'fraud model: first version'));
      const added = await svc.addRepository({ name: 'fraud-ml', url: repo.origin, branch: 'main', path: 'ml/' });
      assert.match(added.webhookSecret, /^whsec_/);
      assert.equal(added.path, 'ml');
      assert.equal(added.status, 'pending');
      const { sync, started } = await syncAndRun();
      assert.equal(sync.state, 'applied', String(sync.reason));
      assert.equal(sync.commit, commits[0]);
      assert.deepEqual(sync.summary.created, ['Pipeline/fraud-python']);
      assert.deepEqual(started.map((s) => s.pipeline), ['fraud-python']);
      const exec = await t.platform.pipelines.execution(started[0].executionId);
      assert.deepEqual(exec.trigger, { type: 'git', by: 'repo:fraud-ml', detail: { repository: 'fraud-ml', commit: commits[0] } });
      const [v1] = await t.platform.registry.listVersions('fraud-detector');
      assert.equal(v1.lineage.commit, commits[0]);
      assert.equal(v1.lineage.repository, 'fraud-ml');
      assert.equal(v1.tags.commit, commits[0]);
      const r = await svc.describeRepository('fraud-ml');
      assert.equal(r.status, 'synced');
      assert.equal(r.appliedCommit, commits[0]);
      const [view] = await svc.get('Pipeline', 'fraud-python');
      assert.deepEqual(view.managed, { set: 'repo:fraud-ml', source: { file: 'ml/config.yaml', repository: 'fraud-ml', commit: commits[0] }, appliedAt: view.managed!.appliedAt });
    });

    it('a sync with no new commit changes and runs nothing', async () => {
      const { sync, started } = await syncAndRun();
      assert.equal(sync.state, 'unchanged');
      assert.deepEqual(started, []);
      assert.equal((await t.platform.pipelines.executions({ pipeline: 'fraud-python' })).length, 1);
    });

    it('a second push changing train.py re-runs the pipeline; the registry shows both versions with their commits', async () => {
      const train = `${fintechFiles()['ml/train.py']}\n# v2: the same model, a changed file\n`;
      commits.push(repo.push({ 'ml/train.py': train }, 'train: reword'));
      const { sync, started } = await syncAndRun();
      assert.equal(sync.state, 'applied');
      assert.deepEqual(sync.summary.updated, ['Pipeline/fraud-python']);
      assert.equal(started.length, 1);
      const versions = await t.platform.registry.listVersions('fraud-detector');
      assert.deepEqual(versions.map((v) => [v.version, v.lineage.commit]).sort(), [[1, commits[0]], [2, commits[1]]]);
      assert.equal((await t.platform.pipelines.describe('fraud-python')).version, 2);
    });

    it('a commit that fails to apply leaves the running state untouched and the repository says why', async () => {
      const bad = repo.push({ 'ml/config.yaml': fintechFiles()['ml/config.yaml'].replace('type: training', 'type: trainig'), 'ml/endpoint.yaml': 'kind: Endpont\nname: x\n' }, 'broken');
      const sync = await svc.syncRepository('fraud-ml');
      assert.equal(sync.state, 'failed');
      assert.equal(sync.commit, bad);
      assert.match(String(sync.reason), /ml\/config\.yaml:\d+:\d+ steps\[1\]\.type/);
      assert.match(String(sync.reason), /ml\/endpoint\.yaml:1:\d+ kind: unknown kind "Endpont"/);
      const r = await svc.describeRepository('fraud-ml');
      assert.equal(r.status, 'failed');
      assert.equal(r.statusReason, sync.reason);
      assert.equal(r.appliedCommit, commits[1], 'the applied commit is still the last good one');
      const p = await t.platform.pipelines.describe('fraud-python');
      assert.equal(p.version, 2);
      assert.equal((await t.platform.pipelines.executions({ pipeline: 'fraud-python' })).length, 2, 'nothing ran');
      // Fixing the commit recovers.
      commits.push(repo.push({ 'ml/config.yaml': fintechFiles()['ml/config.yaml'], 'ml/endpoint.yaml': '' }, 'fix'));
      const fixed = await svc.syncRepository('fraud-ml');
      assert.equal(fixed.state, 'applied', String(fixed.reason));
      assert.equal((await svc.describeRepository('fraud-ml')).status, 'synced');
    });

    it('an unreachable repository: its status says so and nothing else changes', async () => {
      const gone = await svc.addRepository({ name: 'gone', url: path.join(repo.dir, 'no-such-repo.git'), branch: 'main' });
      const sync = await svc.syncRepository(gone.name);
      assert.equal(sync.state, 'unreachable');
      const r = await svc.describeRepository('gone');
      assert.equal(r.status, 'unreachable');
      assert.match(String(r.statusReason), /cannot fetch branch main of .*no-such-repo\.git/);
      assert.equal(r.appliedCommit, null);
      assert.equal((await svc.describeRepository('fraud-ml')).appliedCommit, commits[2]);
      assert.ok(existsSync(repo.origin));
    });

    it('refuses bad repository settings and a name taken', async () => {
      const bad: [Parameters<GitopsService['addRepository']>[0], string, RegExp][] = [
        [{ name: 'x', url: '--upload-pack=evil' }, 'CAPSTAN_GITOPS_REPOSITORY_INVALID', /--url must be a git URL or a local path/],
        [{ name: 'x', url: 'ext::sh -c evil' }, 'CAPSTAN_GITOPS_REPOSITORY_INVALID', /ext:: or fd::/],
        [{ name: 'x', url: repo.origin, branch: 'a..b' }, 'CAPSTAN_GITOPS_REPOSITORY_INVALID', /--branch "a\.\.b" is not a valid branch name/],
        [{ name: 'x', url: repo.origin, path: '../etc' }, 'CAPSTAN_GITOPS_REPOSITORY_INVALID', /--path "\.\.\/etc" must be a relative directory/],
        [{ name: 'Bad Name', url: repo.origin }, 'CAPSTAN_NAME_INVALID', /repository name/],
        [{ name: 'fraud-ml', url: repo.origin }, 'CAPSTAN_GITOPS_REPOSITORY_EXISTS', /already registered/],
      ];
      for (const [input, code, message] of bad) {
        await assert.rejects(svc.addRepository(input), (err: any) => err.code === code && message.test(err.message), JSON.stringify(input));
      }
      assert.deepEqual((await svc.listRepositories()).map((r) => r.name), ['fraud-ml', 'gone']);
    });

    it('keeps credentials in a repository URL sealed: shown as ***, never in a status reason', async () => {
      const added = await svc.addRepository({ name: 'private', url: 'https://ci:tok3n-s3cret@127.0.0.1:1/fraud.git' });
      assert.equal(added.url, 'https://ci:***@127.0.0.1:1/fraud.git');
      const sync = await svc.syncRepository('private');
      assert.equal(sync.state, 'unreachable');
      const r = await svc.describeRepository('private');
      const shown = JSON.stringify([r, await svc.listRepositories()]);
      assert.ok(!shown.includes('tok3n-s3cret'), shown);
      assert.match(String(r.statusReason), /https:\/\/ci:\*\*\*@127\.0\.0\.1:1\/fraud\.git/);
      await svc.removeRepository('private');
    });
  });
}
