import type { Kysely } from 'kysely';
import { CapstanError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { parseJson, type Database } from '../storage/database.js';
import type { ApprovalPolicy, ApprovalStatus, AuditAction, AuditEvent, ModelGroup, ModelVersion } from './registry-service.js';
import type { AuditRow, ModelGroupRow, ModelRegistrationRow, ModelVersionRow, RegistryTables } from './registry-tables.js';

/** A Kysely handle on the registry tables: the database or a transaction. */
export type RegistryQuery = Kysely<RegistryTables>;

const iso = (ms: number) => new Date(ms).toISOString();

let lastAuditMs = 0;
/** Strictly increasing audit times within a process, so records written in the same millisecond keep their order. */
function auditTime(): number {
  lastAuditMs = Math.max(Date.now(), lastAuditMs + 1);
  return lastAuditMs;
}

/** CAPSTAN_REGISTRY_MODEL_NOT_FOUND for a model name. */
export function modelNotFound(name: string): CapstanError {
  return new CapstanError('CAPSTAN_REGISTRY_MODEL_NOT_FOUND', `no model ${name}`, { fields: { modelName: name } });
}

/** CAPSTAN_REGISTRY_VERSION_NOT_FOUND for a model version. */
export function versionNotFound(name: string, version: number): CapstanError {
  return new CapstanError('CAPSTAN_REGISTRY_VERSION_NOT_FOUND', `model ${name} has no version ${version}`, { fields: { modelName: name, version } });
}

/** The values of a new version row that the caller supplies. */
export type NewVersionRow = Omit<ModelVersionRow, 'id' | 'created_at' | 'updated_at' | 'approval'>;

/** One audit record to write. */
export interface AuditInput {
  version: number | null;
  action: AuditAction;
  actor: string;
  from?: string | null;
  to?: string | null;
  alias?: string | null;
  comment?: string;
}

/**
 * Model groups, versions, aliases and the audit trail in the metadata DB. Every method takes the
 * handle to run on, so the service can group writes, their audit records and outbox events in one
 * transaction.
 */
export class SqlRegistryStore {
  constructor(private readonly db: Database) {}

  /** The database handle, for reads outside a transaction. */
  get q(): RegistryQuery {
    return this.db.as<RegistryTables>();
  }

  /** Runs `fn` in one write transaction. */
  transaction<R>(fn: (t: RegistryQuery) => Promise<R>): Promise<R> {
    return this.db.transaction((trx) => fn(trx as unknown as RegistryQuery));
  }

  /** A group's row, or CAPSTAN_REGISTRY_MODEL_NOT_FOUND. */
  async groupRow(name: string, t: RegistryQuery = this.q): Promise<ModelGroupRow> {
    const row = await t.selectFrom('model_groups').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw modelNotFound(name);
    return row;
  }

  /** Inserts a group; returns false when the name is taken. */
  async insertGroup(t: RegistryQuery, name: string, description: string, tags: Record<string, string>): Promise<boolean> {
    const now = Date.now();
    const res = await t
      .insertInto('model_groups')
      .values({ id: newId('mdl'), name, description, tags: JSON.stringify(tags), approval_policy: null, latest_version: 0, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Changes a group's columns. */
  async updateGroup(t: RegistryQuery, id: string, set: Partial<Pick<ModelGroupRow, 'description' | 'tags' | 'approval_policy'>>): Promise<void> {
    await t.updateTable('model_groups').set({ ...set, updated_at: Date.now() }).where('id', '=', id).execute();
  }

  /**
   * Hands out the next version number of a group (creating the group when needed) and records the
   * registration in progress under `owner`, in one transaction; numbers are never reused.
   */
  async reserveVersion(name: string, owner: string): Promise<{ modelId: string; version: number; registrationId: string }> {
    return this.transaction(async (t) => {
      await this.insertGroup(t, name, '', {});
      const row = await this.groupRow(name, t);
      const version = Number(row.latest_version) + 1;
      await t.updateTable('model_groups').set({ latest_version: version, updated_at: Date.now() }).where('id', '=', row.id).execute();
      const registrationId = newId('reg');
      await t.insertInto('model_registrations').values({ id: registrationId, model_id: row.id, version, owner, created_at: Date.now() }).execute();
      return { modelId: row.id, version, registrationId };
    });
  }

  /** Forgets a registration: done (in the transaction that records its version) or abandoned (after its files are gone). */
  async endRegistration(t: RegistryQuery, registrationId: string): Promise<void> {
    await t.deleteFrom('model_registrations').where('id', '=', registrationId).execute();
  }

  /** Registrations in progress (or abandoned by a dead process), with their model's name. */
  async registrations(): Promise<(ModelRegistrationRow & { name: string })[]> {
    return this.q
      .selectFrom('model_registrations')
      .innerJoin('model_groups', 'model_groups.id', 'model_registrations.model_id')
      .selectAll('model_registrations')
      .select('model_groups.name')
      .orderBy('model_registrations.created_at')
      .execute();
  }

  /** Inserts a version row as PendingManualApproval. */
  async insertVersion(t: RegistryQuery, row: NewVersionRow): Promise<void> {
    const now = Date.now();
    await t
      .insertInto('model_versions')
      .values({ ...row, id: newId('mv'), approval: 'PendingManualApproval', created_at: now, updated_at: now })
      .execute();
  }

  /** A version's row, or CAPSTAN_REGISTRY_VERSION_NOT_FOUND. */
  async versionRow(t: RegistryQuery, group: ModelGroupRow, version: number): Promise<ModelVersionRow> {
    const row = await t.selectFrom('model_versions').selectAll().where('model_id', '=', group.id).where('version', '=', version).executeTakeFirst();
    if (!row) throw versionNotFound(group.name, version);
    return row;
  }

  /** The highest registered version of a group, or CAPSTAN_REGISTRY_VERSION_NOT_FOUND when it has none. */
  async latestVersionRow(group: ModelGroupRow): Promise<ModelVersionRow> {
    const row = await this.q.selectFrom('model_versions').selectAll().where('model_id', '=', group.id).orderBy('version', 'desc').limit(1).executeTakeFirst();
    if (!row) throw new CapstanError('CAPSTAN_REGISTRY_VERSION_NOT_FOUND', `model ${group.name} has no versions yet`, { fields: { modelName: group.name } });
    return row;
  }

  /** Version rows of a group, oldest first, optionally only some numbers or one approval state. */
  async versionRows(group: ModelGroupRow, filter: { versions?: number[]; approval?: ApprovalStatus } = {}): Promise<ModelVersionRow[]> {
    let q = this.q.selectFrom('model_versions').selectAll().where('model_id', '=', group.id);
    if (filter.versions) q = q.where('version', 'in', filter.versions.length ? filter.versions : [-1]);
    if (filter.approval) q = q.where('approval', '=', filter.approval);
    return q.orderBy('version').execute();
  }

  /** Sets a version's approval state. */
  async setApproval(t: RegistryQuery, versionId: string, status: ApprovalStatus): Promise<void> {
    await t.updateTable('model_versions').set({ approval: status, updated_at: Date.now() }).where('id', '=', versionId).execute();
  }

  /** Alias → version of a group. */
  async aliases(modelId: string, t: RegistryQuery = this.q): Promise<Record<string, number>> {
    const rows = await t.selectFrom('model_aliases').select(['alias', 'version']).where('model_id', '=', modelId).orderBy('alias').execute();
    return Object.fromEntries(rows.map((r) => [r.alias, Number(r.version)]));
  }

  /** Creates or moves an alias; returns the version it pointed to before (or null). */
  async upsertAlias(t: RegistryQuery, modelId: string, alias: string, version: number, actor: string): Promise<number | null> {
    const before = await t.selectFrom('model_aliases').select('version').where('model_id', '=', modelId).where('alias', '=', alias).executeTakeFirst();
    const now = Date.now();
    await t
      .insertInto('model_aliases')
      .values({ model_id: modelId, alias, version, updated_by: actor, updated_at: now })
      .onConflict((oc) => oc.columns(['model_id', 'alias']).doUpdateSet({ version, updated_by: actor, updated_at: now }))
      .execute();
    return before ? Number(before.version) : null;
  }

  /** Removes an alias; returns the version it pointed to, or null when there was none. */
  async removeAlias(t: RegistryQuery, modelId: string, alias: string): Promise<number | null> {
    const before = await t.selectFrom('model_aliases').select('version').where('model_id', '=', modelId).where('alias', '=', alias).executeTakeFirst();
    if (!before) return null;
    await t.deleteFrom('model_aliases').where('model_id', '=', modelId).where('alias', '=', alias).execute();
    return Number(before.version);
  }

  /** Appends an audit record. */
  async audit(t: RegistryQuery, modelId: string, input: AuditInput): Promise<void> {
    await t
      .insertInto('registry_audit')
      .values({
        id: newId('aud'),
        model_id: modelId,
        version: input.version,
        action: input.action,
        actor: input.actor,
        from_value: input.from ?? null,
        to_value: input.to ?? null,
        alias: input.alias ?? null,
        comment: input.comment ?? '',
        created_at: auditTime(),
      })
      .execute();
  }

  /** Audit records of a group (or one version), oldest first. */
  async auditRows(modelId: string, version?: number): Promise<AuditRow[]> {
    let q = this.q.selectFrom('registry_audit').selectAll().where('model_id', '=', modelId);
    if (version !== undefined) q = q.where('version', '=', version);
    return q.orderBy('created_at').orderBy('id').execute();
  }

  /** Audit rows of every model, newest first, after the (time, id) cursor; one more row than `limit` tells whether a page follows. */
  async auditPage(filter: { model?: string; actor?: string; action?: string; after?: { at: number; id: string }; limit: number }): Promise<(AuditRow & { model: string })[]> {
    let q = this.q.selectFrom('registry_audit').innerJoin('model_groups', 'model_groups.id', 'registry_audit.model_id').selectAll('registry_audit').select('model_groups.name as model');
    if (filter.model !== undefined) q = q.where('model_groups.name', '=', filter.model);
    if (filter.actor !== undefined) q = q.where('registry_audit.actor', '=', filter.actor);
    if (filter.action !== undefined) q = q.where('registry_audit.action', '=', filter.action);
    const after = filter.after;
    if (after) q = q.where((eb) => eb.or([eb('registry_audit.created_at', '<', after.at), eb.and([eb('registry_audit.created_at', '=', after.at), eb('registry_audit.id', '<', after.id)])]));
    return q.orderBy('registry_audit.created_at', 'desc').orderBy('registry_audit.id', 'desc').limit(filter.limit + 1).execute();
  }

  /** Every group row, by name. */
  async groupRows(): Promise<ModelGroupRow[]> {
    return this.q.selectFrom('model_groups').selectAll().orderBy('name').execute();
  }
}

/** A group row as the API shows it. */
export function toModelGroup(row: ModelGroupRow, aliases: Record<string, number>): ModelGroup {
  return {
    name: row.name,
    description: row.description,
    tags: parseJson(row.tags, {}),
    approvalPolicy: parseJson<ApprovalPolicy | null>(row.approval_policy, null),
    latestVersion: Number(row.latest_version),
    aliases,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** A version row as the API shows it. */
export function toModelVersion(name: string, row: ModelVersionRow, aliases: Record<string, number>): ModelVersion {
  const version = Number(row.version);
  return {
    name,
    version,
    artifactUri: row.artifact_uri,
    digest: row.digest,
    framework: row.framework,
    signature: parseJson(row.signature, { inputs: [], outputs: [] }),
    metrics: parseJson(row.metrics, {}),
    params: parseJson(row.params, {}),
    tags: parseJson(row.tags, {}),
    description: row.description,
    lineage: parseJson(row.lineage, {}),
    approval: row.approval as ApprovalStatus,
    aliases: Object.entries(aliases)
      .filter(([, v]) => v === version)
      .map(([a]) => a),
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
  };
}

/** An audit row as the API shows it. */
export function toAuditEvent(name: string, row: AuditRow): AuditEvent {
  return {
    id: row.id,
    model: name,
    version: row.version == null ? null : Number(row.version),
    action: row.action as AuditAction,
    actor: row.actor,
    from: row.from_value,
    to: row.to_value,
    alias: row.alias,
    comment: row.comment,
    at: iso(row.created_at),
  };
}
