import type { Database } from '../storage/database.js';

interface Tables {
  gitops_resources: {
    kind: string;
    name: string;
    managed_set: string;
    source_file: string | null;
    source_repository: string | null;
    source_commit: string | null;
    applied_at: number;
  };
}

/** Where an applied resource came from. */
export interface ResourceSource {
  file?: string;
  repository?: string;
  commit?: string;
}

/** A resource applied from a file: its managed set and source. */
export interface ManagedResource {
  kind: string;
  name: string;
  /** The set `--prune` works on (`default`, or `repo:<name>` for a repository). */
  set: string;
  source: ResourceSource;
  appliedAt: string;
}

function toRecord(r: Tables['gitops_resources']): ManagedResource {
  const source: ResourceSource = {};
  if (r.source_file) source.file = r.source_file;
  if (r.source_repository) source.repository = r.source_repository;
  if (r.source_commit) source.commit = r.source_commit;
  return { kind: r.kind, name: r.name, set: r.managed_set, source, appliedAt: new Date(Number(r.applied_at)).toISOString() };
}

/** The bookkeeping of applied resources: which set manages each one and its source file, repository and commit. */
export class SqlResourceStore {
  constructor(private readonly db: Database) {}

  private get k() {
    return this.db.as<Tables>();
  }

  /** Every managed resource, optionally of one set or kind. */
  async list(filter: { set?: string; kind?: string } = {}): Promise<ManagedResource[]> {
    let q = this.k.selectFrom('gitops_resources').selectAll();
    if (filter.set) q = q.where('managed_set', '=', filter.set);
    if (filter.kind) q = q.where('kind', '=', filter.kind);
    return (await q.orderBy('kind').orderBy('name').execute()).map(toRecord);
  }

  /** One managed resource, or undefined. */
  async get(kind: string, name: string): Promise<ManagedResource | undefined> {
    const r = await this.k.selectFrom('gitops_resources').selectAll().where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
    return r ? toRecord(r) : undefined;
  }

  /** Records (or moves) a resource into a set with its source. */
  async record(kind: string, name: string, set: string, source: ResourceSource): Promise<void> {
    const row = { kind, name, managed_set: set, source_file: source.file ?? null, source_repository: source.repository ?? null, source_commit: source.commit ?? null, applied_at: Date.now() };
    await this.k
      .insertInto('gitops_resources')
      .values(row)
      .onConflict((oc) => oc.columns(['kind', 'name']).doUpdateSet({ managed_set: row.managed_set, source_file: row.source_file, source_repository: row.source_repository, source_commit: row.source_commit, applied_at: row.applied_at }))
      .execute();
  }

  /** Forgets a resource (after it was deleted). */
  async forget(kind: string, name: string): Promise<void> {
    await this.k.deleteFrom('gitops_resources').where('kind', '=', kind).where('name', '=', name).execute();
  }
}
