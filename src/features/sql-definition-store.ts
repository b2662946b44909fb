import type { Kysely } from 'kysely';
import { CapstanError } from '../core/errors.js';
import { parseJson, type Database } from '../storage/database.js';
import type { FeatureEntity, FeatureGroup, TypedColumn } from './feature-types.js';

interface FeatureTables {
  feature_entities: { name: string; join_keys: string; description: string; created_at: number; updated_at: number };
  feature_groups: { name: string; version: number; definition: string; created_at: number; updated_at: number };
  feature_materializations: { group_name: string; version: number; watermark_ms: number; newest_event_ms: number | null; rows_written: number; materialized_at: number };
  feature_ingest_marks: { group_name: string; version: number; ingested_ms: number };
}

/** Where materialization of one group version stands. */
export interface MaterializationState {
  watermarkMs: number;
  newestEventMs: number | null;
  rowsWritten: number;
  materializedAt: number;
}

type GroupBody = Omit<FeatureGroup, 'name' | 'version' | 'createdAt' | 'updatedAt'>;

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();

function toEntity(r: FeatureTables['feature_entities']): FeatureEntity {
  return { name: r.name, joinKeys: parseJson<TypedColumn[]>(r.join_keys, []), description: r.description, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at) };
}

function toGroup(r: FeatureTables['feature_groups']): FeatureGroup {
  const body = parseJson<GroupBody>(r.definition, {} as GroupBody);
  return { name: r.name, version: Number(r.version), ...body, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at) };
}

/** Entities, feature group versions and materialization watermarks in the metadata DB. */
export class SqlDefinitionStore {
  private readonly q: Kysely<FeatureTables>;

  constructor(private readonly db: Database) {
    this.q = db.as<FeatureTables>();
  }

  /** Runs `fn` in one write transaction with a store bound to it, so an apply is all or nothing. */
  async transaction<R>(fn: (store: SqlDefinitionStore) => Promise<R>): Promise<R> {
    return this.db.transaction(async (trx) => {
      const bound = Object.create(SqlDefinitionStore.prototype) as SqlDefinitionStore;
      Object.assign(bound, { db: this.db, q: trx as unknown as Kysely<FeatureTables> });
      return fn(bound);
    });
  }

  /** One entity, or undefined. */
  async entity(name: string): Promise<FeatureEntity | undefined> {
    const r = await this.q.selectFrom('feature_entities').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? toEntity(r) : undefined;
  }

  /** Every entity by name. */
  async entities(): Promise<FeatureEntity[]> {
    return (await this.q.selectFrom('feature_entities').selectAll().orderBy('name').execute()).map(toEntity);
  }

  /** Inserts or replaces an entity. */
  async putEntity(e: { name: string; joinKeys: TypedColumn[]; description: string }, now: number): Promise<void> {
    const existing = await this.entity(e.name);
    if (existing) {
      await this.q.updateTable('feature_entities').set({ join_keys: JSON.stringify(e.joinKeys), description: e.description, updated_at: now }).where('name', '=', e.name).execute();
    } else {
      await this.q.insertInto('feature_entities').values({ name: e.name, join_keys: JSON.stringify(e.joinKeys), description: e.description, created_at: now, updated_at: now }).execute();
    }
  }

  /** One version of a group, or its latest when `version` is undefined. */
  async group(name: string, version?: number): Promise<FeatureGroup | undefined> {
    let query = this.q.selectFrom('feature_groups').selectAll().where('name', '=', name);
    query = version === undefined ? query.orderBy('version', 'desc').limit(1) : query.where('version', '=', version);
    const r = await query.executeTakeFirst();
    return r ? toGroup(r) : undefined;
  }

  /** Every version of every group (or of one group), by name then version. */
  async groups(name?: string): Promise<FeatureGroup[]> {
    let query = this.q.selectFrom('feature_groups').selectAll();
    if (name !== undefined) query = query.where('name', '=', name);
    return (await query.orderBy('name').orderBy('version').execute()).map(toGroup);
  }

  /** Inserts or replaces one group version. */
  async putGroup(g: Omit<FeatureGroup, 'createdAt' | 'updatedAt'>, now: number): Promise<void> {
    const { name, version, ...body } = g;
    const definition = JSON.stringify(body);
    const existing = await this.group(name, version);
    if (existing) await this.q.updateTable('feature_groups').set({ definition, updated_at: now }).where('name', '=', name).where('version', '=', version).execute();
    else await this.q.insertInto('feature_groups').values({ name, version, definition, created_at: now, updated_at: now }).execute();
  }

  /** Deletes every version of a group and its materialization state; answers the versions deleted. */
  async deleteGroup(name: string): Promise<number[]> {
    const versions = (await this.groups(name)).map((g) => g.version);
    await this.q.deleteFrom('feature_materializations').where('group_name', '=', name).execute();
    await this.q.deleteFrom('feature_ingest_marks').where('group_name', '=', name).execute();
    await this.q.deleteFrom('feature_groups').where('name', '=', name).execute();
    return versions;
  }

  /** Deletes an entity definition. */
  async deleteEntity(name: string): Promise<void> {
    await this.q.deleteFrom('feature_entities').where('name', '=', name).execute();
  }

  /** The materialization state of a group version, or undefined before the first run. */
  async materialization(name: string, version: number): Promise<MaterializationState | undefined> {
    const r = await this.q.selectFrom('feature_materializations').selectAll().where('group_name', '=', name).where('version', '=', version).executeTakeFirst();
    if (!r) return undefined;
    return { watermarkMs: Number(r.watermark_ms), newestEventMs: r.newest_event_ms === null ? null : Number(r.newest_event_ms), rowsWritten: Number(r.rows_written), materializedAt: Number(r.materialized_at) };
  }

  /** Every group version's materialization state (for the freshness gauge). */
  async materializations(): Promise<Array<MaterializationState & { group: string; version: number }>> {
    const rows = await this.q.selectFrom('feature_materializations').selectAll().execute();
    return rows.map((r) => ({ group: r.group_name, version: Number(r.version), watermarkMs: Number(r.watermark_ms), newestEventMs: r.newest_event_ms === null ? null : Number(r.newest_event_ms), rowsWritten: Number(r.rows_written), materializedAt: Number(r.materialized_at) }));
  }

  /** Records that an ingestion of a group version wrote rows at `ingestedMs` (kept monotonic). */
  async markIngested(name: string, version: number, ingestedMs: number): Promise<void> {
    await this.q
      .insertInto('feature_ingest_marks')
      .values({ group_name: name, version, ingested_ms: ingestedMs })
      .onConflict((oc) => oc.columns(['group_name', 'version']).doUpdateSet({ ingested_ms: ingestedMs }).where('feature_ingest_marks.ingested_ms', '<', ingestedMs))
      .execute();
  }

  /** Group versions whose newest ingestion is after their materialization watermark (or never materialized). */
  async pendingMaterializations(): Promise<PendingMaterialization[]> {
    const marks = await this.q.selectFrom('feature_ingest_marks').selectAll().execute();
    const states = new Map((await this.materializations()).map((m) => [`${m.group}@${m.version}`, m.watermarkMs]));
    return marks
      .map((m) => ({ group: m.group_name, version: Number(m.version), ingestedMs: Number(m.ingested_ms) }))
      .filter((m) => m.ingestedMs > (states.get(`${m.group}@${m.version}`) ?? -1));
  }

  /** Records a materialization run. */
  async putMaterialization(name: string, version: number, s: MaterializationState): Promise<void> {
    const values = { watermark_ms: s.watermarkMs, newest_event_ms: s.newestEventMs, rows_written: s.rowsWritten, materialized_at: s.materializedAt };
    const updated = await this.q.updateTable('feature_materializations').set(values).where('group_name', '=', name).where('version', '=', version).executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) await this.q.insertInto('feature_materializations').values({ group_name: name, version, ...values }).execute();
  }
}

/** A group version whose newest ingestion is not yet materialized. */
export interface PendingMaterialization {
  group: string;
  version: number;
  ingestedMs: number;
}

/** CAPSTAN_FEATURES_NOT_FOUND for a group (version) that does not exist. */
export function groupNotFound(name: string, version?: number): CapstanError {
  return new CapstanError('CAPSTAN_FEATURES_NOT_FOUND', `no feature group ${name}${version === undefined ? '' : `@${version}`}`, { fields: { group: name, ...(version === undefined ? {} : { version }) }, retryable: false });
}
