import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sleep } from '../core/clock.js';
import { CapstanError, isCapstanError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { PipelineService } from '../pipelines/index.js';
import type { ApplyEngine, ApplyReport } from './apply-engine.js';
import { GitMirror } from './git-mirror.js';
import { readResourceFiles } from './resource-files.js';
import type { SqlRepositoryStore, SyncRecord } from './sql-repository-store.js';

/** What the syncer needs. */
export interface RepositorySyncerDeps {
  repos: SqlRepositoryStore;
  engine: ApplyEngine;
  pipelines: () => PipelineService;
  logger: Logger;
  /** Mirrors live in `<home>/gitops/mirrors`, checkouts in `<home>/tmp`. */
  home: string;
  /** Who holds sync leases (unique per process). */
  owner: string;
  leaseMs: number;
  gitTimeoutMs: number;
  /** The URL to fetch (opened from its sealed form when it holds credentials). */
  fetchUrl: (repository: string, shown: string) => Promise<string>;
  /** Test only: a marker file written after the `pauseAfter`th resource change (default 1), after which the sync never goes on. */
  pauseMarker?: string;
  pauseAfter?: number;
}

/** The managed set of a repository's resources (what its prune works on). */
export function repositorySet(name: string): string {
  return `repo:${name}`;
}

function summaryOf(report: ApplyReport): Record<string, string[]> {
  const by = (a: string) => report.changes.filter((c) => c.action === a).map((c) => `${c.kind}/${c.name}`);
  return { created: by('create'), updated: by('update'), deleted: by('delete') };
}

/**
 * Syncs one repository: fetch the branch, and when its head moved (or a sync of it was interrupted)
 * export the commit, validate and plan everything under the path, apply it as the repository's
 * managed set (pruning what the commit no longer declares), then start the pipelines whose
 * definition or code changed. A commit that does not validate changes nothing; the repository's
 * status says why. A killed sync leaves `syncingCommit` set; the next sync (any process, once the
 * lease expired) applies the head again and starts the runs the interrupted one had planned, so the
 * applied state converges on one commit.
 */
export class RepositorySyncer {
  constructor(private readonly deps: RepositorySyncerDeps) {}

  private mirror(name: string): GitMirror {
    return new GitMirror(path.join(this.deps.home, 'gitops', 'mirrors', `${name}.git`), this.deps.gitTimeoutMs);
  }

  /**
   * Syncs now. When another process holds the repository's lease, waits up to `waitMs` (default 0)
   * for it to finish or its lease to expire, then CAPSTAN_GITOPS_SYNC_BUSY.
   */
  async sync(name: string, options: { waitMs?: number } = {}): Promise<SyncRecord> {
    const { repos, owner } = this.deps;
    await repos.get(name);
    const until = Date.now() + (options.waitMs ?? 0);
    while (!(await repos.claim(name, owner, this.deps.leaseMs))) {
      if (Date.now() >= until) throw new CapstanError('CAPSTAN_GITOPS_SYNC_BUSY', `repository ${name} is being synced by another process; try again when it is done`, { fields: { repository: name } });
      await sleep(250);
    }
    const id = newId('syn');
    await repos.startSync(id, name);
    try {
      await this.run(name, id);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.deps.logger.warn({ err, repository: name }, 'repository sync failed');
      await repos.updateSync(id, { state: 'failed', reason, finished: true });
      await repos.setStatus(name, owner, { status: 'failed', reason, syncingCommit: null, release: true });
    }
    return (await repos.syncs(name, 50)).find((s) => s.id === id)!;
  }

  private async run(name: string, id: string): Promise<void> {
    const { repos, owner, engine } = this.deps;
    const repo = await repos.get(name);
    let commit: string;
    try {
      commit = await this.mirror(name).fetch(await this.deps.fetchUrl(name, repo.url), repo.branch, repo.url);
    } catch (err) {
      if (!isCapstanError(err, 'CAPSTAN_GITOPS_REPOSITORY_UNREACHABLE')) throw err;
      // Nothing else changes: the applied commit and its resources stay as they are.
      await repos.updateSync(id, { state: 'unreachable', reason: err.message, finished: true });
      await repos.setStatus(name, owner, { status: 'unreachable', reason: err.message, release: true });
      return;
    }
    const interrupted = repo.syncingCommit;
    if (commit === repo.appliedCommit && !interrupted) {
      // A process killed between committing this commit and starting its runs left them planned: start them now (once per commit).
      const pending = await repos.unstartedRuns(name, commit);
      if (pending) await repos.updateSync(pending.id, { summary: { ...pending.summary, started: await this.startRuns(name, commit, pending.toRun) } });
      await repos.updateSync(id, { commit, state: 'unchanged', finished: true });
      await repos.setStatus(name, owner, { status: 'synced', reason: null, release: true });
      return;
    }
    await repos.updateSync(id, { commit });
    await repos.setStatus(name, owner, { status: 'syncing', reason: `applying ${commit.slice(0, 12)}`, syncingCommit: commit });
    await mkdir(path.join(this.deps.home, 'tmp'), { recursive: true });
    const checkout = await mkdtemp(path.join(this.deps.home, 'tmp', `sync-${name}-`));
    try {
      await this.mirror(name).export(commit, checkout);
      const root = path.join(checkout, repo.path);
      const missing = await stat(root).then((s) => !s.isDirectory(), () => true);
      if (missing) throw new CapstanError('CAPSTAN_GITOPS_INVALID', `commit ${commit.slice(0, 12)} has no directory ${repo.path}`);
      const files = await readResourceFiles(root, checkout);
      const input = { files, set: repositorySet(name), prune: true, source: { repository: name, commit } };
      const plan = await engine.apply({ ...input, dryRun: true });
      const toRun = new Set(plan.changes.filter((c) => c.kind === 'Pipeline' && (c.action === 'create' || c.action === 'update')).map((c) => c.name));
      // Runs the interrupted sync planned: its apply may have gone through, so the plan above no longer shows them changed.
      if (interrupted) for (const p of await repos.plannedRuns(name, interrupted)) toRun.add(p);
      await repos.updateSync(id, { summary: { toRun: [...toRun] } });
      let applied = 0;
      const report = await engine.apply({
        ...input,
        afterEach: async () => {
          if (this.deps.pauseMarker && ++applied === (this.deps.pauseAfter ?? 1)) {
            await writeFile(this.deps.pauseMarker, String(process.pid));
            await new Promise(() => setInterval(() => {}, 60_000));
          }
        },
        // The applied-commit pointer flips in the transaction of the resources themselves: readers see
        // the old commit and its state or the new commit and its state, never a mix.
        beforeCommit: async (r) => {
          await repos.updateSync(id, { state: 'applied', summary: { ...summaryOf(r), toRun: [...toRun] }, finished: true });
          const held = await repos.setStatus(name, owner, { status: 'synced', reason: null, syncingCommit: null, appliedCommit: commit, release: true });
          if (!held) throw new CapstanError('CAPSTAN_GITOPS_SYNC_BUSY', `repository ${name}: another process took over this sync (its lease expired); nothing of this one was applied`, { fields: { repository: name } });
        },
      });
      // Runs start after the commit: a crash before this point leaves them to the next sync (plannedRuns).
      const started = await this.startRuns(name, commit, [...toRun]);
      await repos.updateSync(id, { summary: { ...summaryOf(report), toRun: [...toRun], started } });
    } finally {
      await rm(checkout, { recursive: true, force: true });
    }
  }

  /** Starts each pipeline once per commit: a resumed sync does not start a second execution. */
  private async startRuns(repository: string, commit: string, names: string[]): Promise<{ pipeline: string; executionId: string }[]> {
    const svc = this.deps.pipelines();
    const out: { pipeline: string; executionId: string }[] = [];
    const existing = new Set((await svc.list()).map((p) => p.name));
    for (const pipeline of names) {
      if (!existing.has(pipeline)) continue;
      const recent = await svc.executions({ pipeline, limit: 20 });
      if (recent.some((e) => e.trigger.type === 'git' && e.trigger.detail?.commit === commit)) continue;
      const exec = await svc.start(pipeline, { trigger: { type: 'git', by: `repo:${repository}`, detail: { repository, commit } } });
      out.push({ pipeline, executionId: exec.id });
    }
    return out;
  }
}
