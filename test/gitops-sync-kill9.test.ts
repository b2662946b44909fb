import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../src/core/clock.js';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import type { GitopsService } from '../src/gitops/index.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { runCapstan, type CliRun } from './support/capstan-cli.js';
import { gitFixture, type GitFixture } from './support/git-fixture.js';

/**
 * One commit's resources, every kind but Endpoint, each carrying `rev` somewhere in its document.
 * The old commit also declares `group-gone` (pruned by the new one); the new one adds `group-new`.
 */
function resources(rev: 'old' | 'new'): Record<string, string> {
  const n = rev === 'old' ? 1 : 2;
  const tag = `tag-${rev}`;
  const groups = ['group-a', 'group-b', rev === 'old' ? 'group-gone' : 'group-new'];
  return {
    'ml/models.yaml': groups.map((g) => `kind: ModelGroup\nname: ${g}\ndescription: ${tag}\n`).join('---\n'),
    'ml/pipeline.yaml': `kind: Pipeline\nname: scoring\nparameters:\n  day: { type: string, default: today }\nsteps:\n  - name: score\n    type: processing\n    command: [python3, -c, "print('${tag}')"]\n`,
    'ml/trigger.yaml': `kind: Trigger\nname: nightly\npipeline: scoring\ntype: cron\nschedule: "0 ${n} * * *"\nparams: { day: ${tag} }\n`,
    'ml/features.yaml': `kind: Entity\nname: customer\ndescription: ${tag}\njoinKeys: [{ name: customer_id, type: string }]\n---\nkind: FeatureGroup\nname: customers\ndescription: ${tag}\nentities: [customer]\neventTime: event_time\nfeatures:\n  - { name: chargebacks_90d, type: int64 }\n`,
    'ml/usecase.yaml': `kind: UseCase\nname: chargeback-check\ninput:\n  schema: { type: object, required: [customer_id], properties: { customer_id: { type: string } } }\n  subject: input.customer_id\nthresholds: { chargebacks: ${n} }\ntasks:\n  - name: customer\n    type: features\n    features: [customers:chargebacks_90d]\n    entity: { customer_id: input.customer_id }\nrules:\n  engine: cel\n  rules:\n    - { name: many, when: 'tasks.customer.chargebacks_90d != null && tasks.customer.chargebacks_90d > thresholds.chargebacks', outcome: review, reason: chargebacks }\n  default: { outcome: approve }\n`,
    'ml/notify.yaml': `kind: Notification\nname: bus\nevents: [${rev === 'old' ? 'model_version.created' : 'model_version.approved'}]\ntarget:\n  nats: { subject: capstan.sync.${rev}, servers: nats://127.0.0.1:4222 }\n`,
  };
}

const KINDS = ['ModelGroup', 'Pipeline', 'Trigger', 'Entity', 'FeatureGroup', 'UseCase', 'Notification'];

for (const factory of await testDatabases()) {
  describe(`kill -9 during a repository sync (${factory.name})`, { skip: factory.skip }, () => {
    let home: string;
    let database: TestDatabase;
    let repo: GitFixture;
    let env: Record<string, string>;
    let reader: Platform;
    before(async () => {
      home = mkdtempSync(path.join(os.tmpdir(), 'capstan-sync-kill-'));
      database = await factory.create();
      env = { CAPSTAN_HOME: home, CAPSTAN_GITOPS_LEASE_MS: '1000', CAPSTAN_DATABASE_URL: database.url, CAPSTAN_OUTBOUND_ALLOW_HOSTS: '127.0.0.1:4222' };
      repo = gitFixture();
      // The test's own reader of the shared database: what any other process would observe.
      // The test's own process on the shared database: what any other process would observe; it also
      // registers the repository and runs the syncs that are not killed (so only those spawn a CLI).
      reader = await openPlatform({ config: compileConfig({ flags: { home, databaseUrl: database.url }, env, cwd: home }), logger: silentLogger() });
    });
    after(async () => {
      await reader?.close();
      await database?.dispose();
      rmSync(home, { recursive: true, force: true });
      if (repo) rmSync(repo.dir, { recursive: true, force: true });
    });

    const gitops = () => reader.context<GitopsService>('gitops');

    /** Everything a reader sees of the repository's resources: every document with its managed source, and the applied commit. */
    const observed = async () => {
      const resources: Record<string, unknown> = {};
      for (const kind of KINDS) for (const v of await gitops().get(kind)) resources[`${kind}/${v.name}`] = { document: v.document, managed: v.managed };
      const r = await gitops().describeRepository('ml');
      return { appliedCommit: r.appliedCommit, resources };
    };

    /** Starts a sync that pauses after its `k`th resource change and SIGKILLs it there (retrying while the dead one's lease holds the repository). */
    const killSyncAfter = async (k: number): Promise<void> => {
      const marker = path.join(home, `paused-${k}`);
      for (;;) {
        let ended: CliRun | undefined;
        const run = runCapstan(['repos', 'sync', 'ml', '--json'], { env: { ...env, CAPSTAN_TEST_GITOPS_SYNC_PAUSE: marker, CAPSTAN_TEST_GITOPS_SYNC_PAUSE_AFTER: String(k) } });
        void run.then((r) => (ended = r));
        const pid = await pollUntil(`the sync to pause after change ${k}`, () => {
          if (ended) return 0;
          const text = existsSync(marker) ? readFileSync(marker, 'utf8') : '';
          return /^\d+$/.test(text) ? Number(text) : undefined;
        }, { deadlineMs: 600_000, intervalMs: 50 });
        if (pid) {
          process.kill(pid, 'SIGKILL');
          assert.equal((await run).signal, 'SIGKILL');
          return;
        }
        // The previous killed sync still holds its lease: the sync refused, nothing was applied; try again.
        assert.equal(JSON.parse(ended!.stdout).code, 'CAPSTAN_GITOPS_SYNC_BUSY', `${ended!.stderr}${ended!.stdout}`);
        await sleep(300);
      }
    };

    it('shows exactly the old commit after a kill at any resource change, and exactly the new one once a sync completes', async () => {
      const c1 = repo.push(resources('old'), 'old');
      await gitops().addRepository({ name: 'ml', url: repo.origin, path: 'ml' });
      assert.equal((await gitops().syncRepository('ml')).state, 'applied');
      const old = await observed();
      assert.equal(old.appliedCommit, c1);
      assert.equal(Object.keys(old.resources).length, 9);

      const c2 = repo.push(resources('new'), 'new');
      const files = Object.entries(resources('new')).map(([p, text]) => ({ path: p, text, baseDir: path.join(repo.work, 'ml') }));
      const plan = await gitops().apply({ files, dryRun: true });
      // Every one of the new commit's changes is a point the sync is killed at: 8 updates, a create and (as the repository's prune) a delete.
      const points = plan.changes.filter((c) => c.action !== 'unchanged').length + 1;
      assert.equal(points, 10);
      for (let k = 1; k <= points; k++) {
        await killSyncAfter(k);
        assert.deepEqual(await observed(), old, `after a kill at change ${k} of ${points} a reader sees exactly the old commit`);
        const r = await gitops().describeRepository('ml');
        assert.equal(r.status, 'syncing');
        assert.equal(r.syncingCommit, c2, 'the repository says which commit was being applied');
      }

      // Once the last dead process's lease expires, the next sync applies the whole new commit.
      // (syncRepository waits up to the lease for the repository.)
      const done = await gitops().syncRepository('ml');
      assert.equal(done.state, 'applied');
      assert.equal(done.commit, c2);
      const now = await observed();
      assert.equal(now.appliedCommit, c2);
      assert.deepEqual(Object.keys(now.resources).filter((k) => !k.endsWith('/group-gone')).sort(), Object.keys(old.resources).filter((k) => k !== 'ModelGroup/group-gone').concat('ModelGroup/group-new').sort());
      for (const [key, view] of Object.entries(now.resources) as [string, { document: Record<string, unknown>; managed: { source: { commit?: string } } | null }][]) {
        if (key === 'ModelGroup/group-gone') {
          assert.equal(view.managed, null, 'the pruned group left the managed set');
          continue;
        }
        assert.equal(view.managed?.source.commit, c2, `${key} comes from the new commit`);
        const text = JSON.stringify(view.document);
        assert.ok(!text.includes('tag-old') && !text.includes('"chargebacks":1') && !text.includes('"0 1 * * *"'), `${key} holds nothing of the old commit: ${text}`);
      }
      const described = await gitops().describeRepository('ml');
      assert.equal(described.status, 'synced');
      assert.equal(described.syncingCommit, null);
      // The pipeline changed in c2: it is started once for c2, however many syncs of c2 were killed.
      const execs = await reader.pipelines.executions({ pipeline: 'scoring', limit: 20 });
      const byCommit = execs.map((e) => e.trigger.detail?.commit);
      assert.equal(byCommit.filter((c) => c === c2).length, 1);
      assert.equal(byCommit.filter((c) => c === c1).length, 1);
    });
  });
}
