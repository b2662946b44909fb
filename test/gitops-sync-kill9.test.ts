import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { cliJson, runCapstan } from './support/capstan-cli.js';
import { gitFixture, type GitFixture } from './support/git-fixture.js';

const resources = (rev: string) => ({
  'ml/models.yaml': `kind: ModelGroup\nname: group-a\ndescription: ${rev}\n---\nkind: ModelGroup\nname: group-b\ndescription: ${rev}\n`,
  'ml/pipeline.yaml': `kind: Pipeline\nname: scoring\nsteps:\n  - name: score\n    type: processing\n    command: [python3, -c, "print('${rev}')"]\n`,
});

for (const factory of await testDatabases()) {
  describe(`kill -9 during a repository sync (${factory.name})`, { skip: factory.skip }, () => {
    let home: string;
    let database: TestDatabase | undefined;
    let repo: GitFixture;
    let env: Record<string, string>;
    before(async () => {
      home = mkdtempSync(path.join(os.tmpdir(), 'capstan-sync-kill-'));
      database = factory.name === 'postgres' ? await factory.create() : undefined;
      env = { CAPSTAN_HOME: home, CAPSTAN_GITOPS_LEASE_MS: '1000', ...(database ? { CAPSTAN_DATABASE_URL: database.url } : {}) };
      repo = gitFixture();
    });
    after(async () => {
      await database?.dispose();
      rmSync(home, { recursive: true, force: true });
      if (repo) rmSync(repo.dir, { recursive: true, force: true });
    });

    const state = async () => {
      const groups = cliJson(await runCapstan(['get', 'models', '--json'], { env })).map((v: any) => `${v.name}=${v.document.description}`);
      const pipeline = cliJson(await runCapstan(['get', 'pipeline', 'scoring', '--json'], { env }))[0].document.steps[0].command[2];
      return [...groups, pipeline];
    };

    it('leaves the repository syncing that commit, and the next sync converges on it with one run', async () => {
      const c1 = repo.push(resources('old'), 'old');
      cliJson(await runCapstan(['repos', 'add', 'ml', '--url', repo.origin, '--path', 'ml', '--json'], { env }));
      assert.equal(cliJson(await runCapstan(['repos', 'sync', 'ml', '--json'], { env })).state, 'applied');
      assert.deepEqual(await state(), ['group-a=old', 'group-b=old', "print('old')"]);

      const c2 = repo.push(resources('new'), 'new');
      const marker = path.join(home, 'sync-paused');
      const killed = runCapstan(['repos', 'sync', 'ml', '--json'], { env: { ...env, CAPSTAN_TEST_GITOPS_SYNC_PAUSE: marker } });
      await pollUntil('the sync to pause after its first resource', () => (existsSync(marker) ? true : undefined), { deadlineMs: 60_000 });
      process.kill(Number(readFileSync(marker, 'utf8')), 'SIGKILL');
      assert.equal((await killed).signal, 'SIGKILL');

      const interrupted = cliJson(await runCapstan(['repos', 'describe', 'ml', '--json'], { env }));
      assert.equal(interrupted.status, 'syncing');
      assert.equal(interrupted.syncingCommit, c2, 'the repository says which commit was being applied');
      assert.equal(interrupted.appliedCommit, c1);

      // Once the dead process's lease expires, the next sync (here the CLI; in `capstan up` the poller) finishes the commit.
      const resumed = await pollUntil('the lease to expire', async () => {
        const r = await runCapstan(['repos', 'sync', 'ml', '--json'], { env });
        if (r.code !== 0 && JSON.parse(r.stdout).code === 'CAPSTAN_GITOPS_SYNC_BUSY') return undefined;
        return cliJson(r);
      }, { deadlineMs: 60_000, intervalMs: 300 });
      assert.equal(resumed.state, 'applied');
      assert.equal(resumed.commit, c2);
      assert.deepEqual(await state(), ['group-a=new', 'group-b=new', "print('new')"]);
      const after = cliJson(await runCapstan(['repos', 'describe', 'ml', '--json'], { env }));
      assert.equal(after.status, 'synced');
      assert.equal(after.appliedCommit, c2);
      assert.equal(after.syncingCommit, null);
      // The pipeline changed in c2: it is started once for c2 (from the plan the killed sync recorded, or the new one).
      const execs = cliJson(await runCapstan(['pipeline', 'executions', 'scoring', '--json'], { env })).executions;
      const byCommit = execs.map((e: any) => e.trigger.detail?.commit);
      assert.deepEqual(byCommit.filter((c: string) => c === c2).length, 1);
      assert.deepEqual(byCommit.filter((c: string) => c === c1).length, 1);
    });
  });
}
