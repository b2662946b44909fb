import { CapstanError } from '../core/errors.js';
import type { Database } from '../storage/database.js';

interface RepoRow {
  name: string;
  url: string;
  sealed_url: string | null;
  branch: string;
  path: string;
  webhook_secret: string;
  status: string;
  status_reason: string | null;
  applied_commit: string | null;
  syncing_commit: string | null;
  sync_owner: string | null;
  sync_lease_until: number | null;
  sync_requested: number;
  last_sync_at: number | null;
  created_at: number;
  updated_at: number;
}

interface SyncRow {
  id: string;
  repository: string;
  commit: string | null;
  state: string;
  reason: string | null;
  summary: string;
  started_at: number;
  finished_at: number | null;
}

interface Tables {
  gitops_repositories: RepoRow;
  gitops_syncs: SyncRow;
}

/** A repository's sync status: `pending` before the first sync, `syncing`, `synced`, `failed` (a commit did not apply) or `unreachable` (fetch failed). */
export type RepositoryStatus = 'pending' | 'syncing' | 'synced' | 'failed' | 'unreachable';

/** A registered repository (its webhook secret is never shown back). */
export interface Repository {
  name: string;
  /** The URL, with any credentials in it shown as `***` (they are stored sealed). */
  url: string;
  branch: string;
  /** Directory inside the repository whose resources are applied (`ml/`); `.` for the root. */
  path: string;
  status: RepositoryStatus;
  /** Why the last sync failed or what it is doing; null when synced. */
  statusReason: string | null;
  /** The commit whose resources are applied. */
  appliedCommit: string | null;
  /** The commit a sync is applying (or was, when it was interrupted). */
  syncingCommit: string | null;
  lastSyncAt: string | null;
  createdAt: string;
}

/** One sync of a repository. */
export interface SyncRecord {
  id: string;
  repository: string;
  commit: string | null;
  /** `running`, `applied`, `unchanged`, `failed` or `unreachable`. */
  state: string;
  reason: string | null;
  /** Resources created, updated, deleted and pipelines started. */
  summary: Record<string, unknown>;
  startedAt: string;
  finishedAt: string | null;
}

const iso = (t: number | null) => (t == null ? null : new Date(Number(t)).toISOString());

function toRepo(r: RepoRow): Repository {
  return {
    name: r.name,
    url: r.url,
    branch: r.branch,
    path: r.path,
    status: r.status as RepositoryStatus,
    statusReason: r.status_reason,
    appliedCommit: r.applied_commit,
    syncingCommit: r.syncing_commit,
    lastSyncAt: iso(r.last_sync_at),
    createdAt: iso(r.created_at)!,
  };
}

function toSync(r: SyncRow): SyncRecord {
  return { id: r.id, repository: r.repository, commit: r.commit, state: r.state, reason: r.reason, summary: JSON.parse(r.summary) as Record<string, unknown>, startedAt: iso(r.started_at)!, finishedAt: iso(r.finished_at) };
}

/** Repositories, their sync leases and their sync history. */
export class SqlRepositoryStore {
  constructor(private readonly db: Database) {}

  private get k() {
    return this.db.as<Tables>();
  }

  /** Registers a repository; CAPSTAN_GITOPS_REPOSITORY_EXISTS when the name is taken. */
  async insert(input: { name: string; url: string; sealedUrl: string | null; branch: string; path: string; sealedSecret: string }): Promise<Repository> {
    const now = Date.now();
    const row: RepoRow = {
      name: input.name, url: input.url, sealed_url: input.sealedUrl, branch: input.branch, path: input.path, webhook_secret: input.sealedSecret,
      status: 'pending', status_reason: null, applied_commit: null, syncing_commit: null, sync_owner: null, sync_lease_until: null,
      sync_requested: 1, last_sync_at: null, created_at: now, updated_at: now,
    };
    const r = await this.k.insertInto('gitops_repositories').values(row).onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) !== 1) throw new CapstanError('CAPSTAN_GITOPS_REPOSITORY_EXISTS', `repository ${input.name} is already registered`, { fields: { repository: input.name } });
    return toRepo(row);
  }

  /** One repository; CAPSTAN_GITOPS_REPOSITORY_NOT_FOUND when missing. */
  async get(name: string): Promise<Repository> {
    return toRepo(await this.row(name));
  }

  /** The sealed URL of a repository whose URL holds credentials, or null (then `url` is the URL). */
  async sealedUrl(name: string): Promise<string | null> {
    return (await this.row(name)).sealed_url;
  }

  /** The sealed webhook secret of a repository. */
  async sealedSecret(name: string): Promise<string> {
    return (await this.row(name)).webhook_secret;
  }

  private async row(name: string): Promise<RepoRow> {
    const r = await this.k.selectFrom('gitops_repositories').selectAll().where('name', '=', name).executeTakeFirst();
    if (!r) throw new CapstanError('CAPSTAN_GITOPS_REPOSITORY_NOT_FOUND', `no repository ${JSON.stringify(name)}`, { fields: { repository: name } });
    return r;
  }

  /** Every repository, by name. */
  async list(): Promise<Repository[]> {
    return (await this.k.selectFrom('gitops_repositories').selectAll().orderBy('name').execute()).map(toRepo);
  }

  /** Removes a repository and its sync history (the resources it applied stay). */
  async remove(name: string): Promise<void> {
    await this.row(name);
    await this.k.deleteFrom('gitops_syncs').where('repository', '=', name).execute();
    await this.k.deleteFrom('gitops_repositories').where('name', '=', name).execute();
  }

  /** Asks for a sync at the next poll (a push webhook). */
  async requestSync(name: string): Promise<void> {
    await this.k.updateTable('gitops_repositories').set({ sync_requested: 1 }).where('name', '=', name).execute();
  }

  /** Names of repositories with a requested sync or whose interrupted sync's lease expired. */
  async due(now = Date.now()): Promise<string[]> {
    const rows = await this.k
      .selectFrom('gitops_repositories')
      .select('name')
      .where((eb) => eb.or([eb('sync_requested', '=', 1), eb.and([eb('syncing_commit', 'is not', null), eb('sync_lease_until', '<', now)])]))
      .execute();
    return rows.map((r) => r.name);
  }

  /** Takes the sync lease when nobody holds a live one; true when this owner got it. */
  async claim(name: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = Date.now();
    const r = await this.k
      .updateTable('gitops_repositories')
      .set({ sync_owner: owner, sync_lease_until: now + leaseMs, sync_requested: 0 })
      .where('name', '=', name)
      .where((eb) => eb.or([eb('sync_owner', 'is', null), eb('sync_lease_until', '<', now)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Updates the status fields of a repository this owner holds; false when another owner holds it now. */
  async setStatus(name: string, owner: string, fields: { status: RepositoryStatus; reason: string | null; syncingCommit?: string | null; appliedCommit?: string; release?: boolean }): Promise<boolean> {
    const now = Date.now();
    const set: Partial<RepoRow> = { status: fields.status, status_reason: fields.reason, updated_at: now };
    if (fields.syncingCommit !== undefined) set.syncing_commit = fields.syncingCommit;
    if (fields.appliedCommit !== undefined) set.applied_commit = fields.appliedCommit;
    if (fields.release) Object.assign(set, { sync_owner: null, sync_lease_until: null, last_sync_at: now });
    const r = await this.k.updateTable('gitops_repositories').set(set).where('name', '=', name).where('sync_owner', '=', owner).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Starts a sync record. */
  async startSync(id: string, repository: string): Promise<void> {
    await this.k.insertInto('gitops_syncs').values({ id, repository, commit: null, state: 'running', reason: null, summary: '{}', started_at: Date.now(), finished_at: null }).execute();
  }

  /** Updates a sync record (`finished` stamps its end). */
  async updateSync(id: string, fields: { commit?: string; state?: string; reason?: string | null; summary?: Record<string, unknown>; finished?: boolean }): Promise<void> {
    const set: Partial<SyncRow> = {};
    if (fields.commit !== undefined) set.commit = fields.commit;
    if (fields.state !== undefined) set.state = fields.state;
    if (fields.reason !== undefined) set.reason = fields.reason;
    if (fields.summary !== undefined) set.summary = JSON.stringify(fields.summary);
    if (fields.finished) set.finished_at = Date.now();
    await this.k.updateTable('gitops_syncs').set(set).where('id', '=', id).execute();
  }

  /** The newest syncs of a repository. */
  async syncs(repository: string, limit = 20): Promise<SyncRecord[]> {
    return (await this.k.selectFrom('gitops_syncs').selectAll().where('repository', '=', repository).orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute()).map(toSync);
  }

  /** The applied sync of `commit` whose planned runs were never started (its process died right after the commit), if any. */
  async unstartedRuns(repository: string, commit: string): Promise<{ id: string; summary: Record<string, unknown>; toRun: string[] } | undefined> {
    const rows = await this.k.selectFrom('gitops_syncs').select(['id', 'summary']).where('repository', '=', repository).where('commit', '=', commit).where('state', '=', 'applied').execute();
    for (const r of rows) {
      const summary = JSON.parse(r.summary) as { toRun?: string[]; started?: unknown };
      if (!summary.started && summary.toRun?.length) return { id: r.id, summary, toRun: summary.toRun };
    }
    return undefined;
  }

  /** Pipelines an interrupted sync of `commit` planned to start (it recorded them before applying). */
  async plannedRuns(repository: string, commit: string): Promise<string[]> {
    const rows = await this.k.selectFrom('gitops_syncs').select('summary').where('repository', '=', repository).where('commit', '=', commit).execute();
    const out = new Set<string>();
    for (const r of rows) for (const p of ((JSON.parse(r.summary) as { toRun?: string[] }).toRun ?? [])) out.add(p);
    return [...out];
  }
}
