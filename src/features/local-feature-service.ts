import { CapstanError } from '../core/errors.js';
import { BoundedMemo } from '../core/bounded-memo.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { JobQueue } from '../storage/queue/job-queue.js';
import { compileDefinitions, incompatibility, type FeatureDefinitionsInput, type FeatureGroupSpec } from './feature-definitions.js';
import { parseFeatureRef } from './feature-ref.js';
import type { ApplyResult, FeatureDefinitionDeletion, FeatureService, MaterializeResult, OnlineFeatureValue, OnlineReadRequest, OnlineReadResult } from './feature-service.js';
import type { FeatureEntity, FeatureGroup, FeatureRef, GroupFreshness, TypedColumn } from './feature-types.js';
import type { IngestResult, IngestSource, Ingestion } from './ingestion.js';
import type { FeatureLeases } from './feature-leases.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { Materializer } from './materializer.js';
import { OfflineFiles } from './offline-files.js';
import { encodeEntityKey, onlineTable, type OnlineStore } from './online-store.js';
import { groupNotFound, type SqlDefinitionStore } from './sql-definition-store.js';
import type { ResolvedFeature, TrainingSetBuilder, TrainingSetRequest, TrainingSetResult } from './training-set.js';
import { isExpired } from './ttl-rule.js';

/** Job type that materializes one group version after an ingestion. */
export const MATERIALIZE_JOB_TYPE = 'features.materialize';

/** Enqueues one materialization per (group version, ingestion): the job after an ingestion and the sweep never both run it. */
export function enqueueMaterialization(queue: JobQueue, p: { group: string; version: number; ingestedMs: number }): Promise<unknown> {
  return queue.enqueue(MATERIALIZE_JOB_TYPE, { group: p.group, version: p.version }, { idempotencyKey: `${MATERIALIZE_JOB_TYPE}:${p.group}@${p.version}:${p.ingestedMs}` });
}

/** How long group definitions are cached for online reads, in ms (an apply in this process clears the cache at once). */
const DEFINITION_CACHE_MS = 2000;
/** Parsed feature references kept for online reads; the map starts over when full. */
const PARSED_REFS = 10_000;

/** Everything the local service is built from. */
export interface LocalFeatureServiceParts {
  store: SqlDefinitionStore;
  ingestion: Ingestion;
  trainingSets: TrainingSetBuilder;
  materializer: Materializer;
  online: OnlineStore;
  /** Where the offline files live (deleted with their group). */
  artifacts: ArtifactStore;
  /** Serialises ingestions and materializations of one group version across processes. */
  leases: FeatureLeases;
  /** Enqueues materialization after each ingestion that wrote rows; undefined: none. */
  queue?: JobQueue;
  /** Most records per push. */
  pushMaxRecords: number;
}

/** JSON text with object keys sorted, so stored and applied definitions compare by content. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** The feature service on the platform's metadata DB, artifact store, DuckDB and online store. */
export class LocalFeatureService implements FeatureService, FeatureDefinitionDeletion {
  private readonly locks = new KeyedMutex();
  private readonly cache = new Map<string, { group: FeatureGroup; until: number }>();
  private readonly refs = new BoundedMemo<string, FeatureRef>(PARSED_REFS);

  constructor(private readonly parts: LocalFeatureServiceParts) {}

  async apply(input: FeatureDefinitionsInput): Promise<ApplyResult> {
    const defs = compileDefinitions(input);
    const now = Date.now();
    const result = await this.parts.store.transaction(async (store) => {
      const out: ApplyResult = { entities: [], featureGroups: [] };
      for (const e of defs.entities) {
        const existing = await store.entity(e.name);
        if (existing && !same(existing.joinKeys, e.joinKeys)) {
          const groups = (await store.groups()).filter((g) => g.entities.includes(e.name));
          if (groups.length) throw incompatible(`entity ${e.name}: its join keys change while feature group(s) ${groups.map((g) => `${g.name}@${g.version}`).join(', ')} use it; define a new entity instead`, { entity: e.name });
        }
        const action = !existing ? 'created' : same([existing.joinKeys, existing.description], [e.joinKeys, e.description]) ? 'unchanged' : 'updated';
        if (action !== 'unchanged') await store.putEntity(e, now);
        out.entities.push({ name: e.name, action });
      }
      for (const g of defs.featureGroups) out.featureGroups.push(await this.applyGroup(store, g, now));
      return out;
    });
    this.cache.clear();
    return result;
  }

  private async applyGroup(store: SqlDefinitionStore, spec: FeatureGroupSpec, now: number): Promise<ApplyResult['featureGroups'][number]> {
    const joinKeys: TypedColumn[] = [];
    for (const name of spec.entities) {
      const entity = await store.entity(name);
      if (!entity) throw new CapstanError('CAPSTAN_FEATURES_NOT_FOUND', `feature group ${spec.name} names entity ${name}, which is not defined`, { fields: { entity: name }, retryable: false });
      for (const k of entity.joinKeys) if (!joinKeys.some((x) => x.name === k.name)) joinKeys.push({ name: k.name, type: k.type });
    }
    const clash = spec.features.find((f) => joinKeys.some((k) => k.name === f.name)) ?? joinKeys.find((k) => k.name === spec.eventTimeColumn || k.name === spec.createdTimeColumn);
    if (clash) throw new CapstanError('CAPSTAN_FEATURES_DEFINITION_INVALID', `feature group ${spec.name}: column ${clash.name} is both a join key and a feature or time column`, { retryable: false });
    const latest = await store.group(spec.name);
    const version = spec.version ?? latest?.version ?? 1;
    if (latest && version > latest.version + 1) throw new CapstanError('CAPSTAN_FEATURES_DEFINITION_INVALID', `feature group ${spec.name}: the next version is ${latest.version + 1}, not ${version}`, { retryable: false });
    if (!latest && version !== 1) throw new CapstanError('CAPSTAN_FEATURES_DEFINITION_INVALID', `feature group ${spec.name} is new: its first version is 1, not ${version}`, { retryable: false });
    const { version: _v, ...rest } = spec;
    const next: Omit<FeatureGroup, 'createdAt' | 'updatedAt'> = { ...rest, name: spec.name, version, joinKeys };
    const stored = await store.group(spec.name, version);
    if (stored) {
      const why = incompatibility(stored, next);
      if (why) {
        throw incompatible(`feature group ${spec.name}@${version}: ${why}; apply it as version ${(latest?.version ?? version) + 1} (version: ${(latest?.version ?? version) + 1})`, { group: spec.name, version, reason: why });
      }
      const { createdAt: _c, updatedAt: _u, ...storedBody } = stored;
      if (same(storedBody, next)) return { name: spec.name, version, action: 'unchanged' };
      await store.putGroup(next, now);
      return { name: spec.name, version, action: 'updated' };
    }
    await store.putGroup(next, now);
    return { name: spec.name, version, action: 'created' };
  }

  async deleteGroup(name: string): Promise<void> {
    const versions = await this.parts.store.transaction((store) => store.deleteGroup(name));
    if (versions.length === 0) throw groupNotFound(name);
    this.cache.clear();
    // Definitions go first: a reader racing the delete sees the group missing, never half its data.
    for (const version of versions) {
      const key = onlineTable(name, version);
      await this.locks.run(key, () => this.parts.leases.hold(key, async () => {
        await this.parts.online.drop(onlineTable(name, version));
        await this.parts.artifacts.deletePrefix(OfflineFiles.groupPrefix(name, version));
      }));
    }
  }

  async deleteEntity(name: string): Promise<void> {
    await this.parts.store.transaction(async (store) => {
      if (!(await store.entity(name))) throw new CapstanError('CAPSTAN_FEATURES_NOT_FOUND', `no entity ${name}`, { fields: { entity: name }, retryable: false });
      const users = (await store.groups()).filter((g) => g.entities.includes(name));
      if (users.length) throw incompatible(`entity ${name} is used by feature group(s) ${users.map((g) => `${g.name}@${g.version}`).join(', ')}; delete them first`, { entity: name });
      await store.deleteEntity(name);
    });
    this.cache.clear();
  }

  listEntities(): Promise<FeatureEntity[]> {
    return this.parts.store.entities();
  }

  listGroups(): Promise<FeatureGroup[]> {
    return this.parts.store.groups();
  }

  async freshness(): Promise<GroupFreshness[]> {
    const now = Date.now();
    return (await this.parts.store.materializations())
      .sort((a, b) => a.group.localeCompare(b.group) || a.version - b.version)
      .map((m) => ({
        group: m.group,
        version: m.version,
        newestEventAt: m.newestEventMs === null ? null : new Date(m.newestEventMs).toISOString(),
        ageSeconds: m.newestEventMs === null ? null : Math.max(0, (now - m.newestEventMs) / 1000),
        materializedAt: new Date(m.materializedAt).toISOString(),
        rowsWritten: m.rowsWritten,
      }));
  }

  async getGroup(name: string, version?: number): Promise<FeatureGroup> {
    const g = await this.parts.store.group(name, version);
    if (!g) throw groupNotFound(name, version);
    return g;
  }

  async ingest(group: string, source: IngestSource, options: { version?: number } = {}): Promise<IngestResult> {
    const g = await this.getGroup(group, options.version);
    const result = await this.exclusive(g, () => this.parts.ingestion.ingestFile(g, source).then((r) => this.marked(r)));
    await this.afterIngest(result);
    return result;
  }

  async pushRecords(group: string, records: unknown[], options: { version?: number } = {}): Promise<IngestResult> {
    if (!Array.isArray(records)) throw new CapstanError('CAPSTAN_FEATURES_RECORDS_INVALID', 'the records must be a JSON array of objects', { retryable: false, fields: { errors: [], errorCount: 0 } });
    if (records.length > this.parts.pushMaxRecords) {
      throw new CapstanError('CAPSTAN_FEATURES_BATCH_TOO_LARGE', `the batch has ${records.length} records; at most ${this.parts.pushMaxRecords} are accepted per push (split it, or ingest a file)`, {
        fields: { limit: this.parts.pushMaxRecords, records: records.length },
        retryable: false,
      });
    }
    const g = await this.getGroup(group, options.version);
    const result = await this.exclusive(g, () => this.parts.ingestion.ingestRecords(g, records).then((r) => this.marked(r)));
    await this.afterIngest(result);
    return result;
  }

  /** Runs `fn` alone for the group version: one at a time in this process, then across processes by lease. */
  private exclusive<R>(g: FeatureGroup, fn: () => Promise<R>): Promise<R> {
    const key = onlineTable(g.name, g.version);
    return this.locks.run(key, () => this.parts.leases.hold(key, fn));
  }

  /** Records the ingestion time of a batch that wrote rows, so the materialization sweep sees it even if the job below is never enqueued. */
  private async marked(result: IngestResult): Promise<IngestResult> {
    if (result.rowsWritten > 0) await this.parts.store.markIngested(result.group, result.version, Date.parse(result.ingestedAt));
    return result;
  }

  private async afterIngest(result: IngestResult): Promise<void> {
    if (result.rowsWritten > 0 && this.parts.queue) await enqueueMaterialization(this.parts.queue, { group: result.group, version: result.version, ingestedMs: Date.parse(result.ingestedAt) });
  }

  async trainingSet(request: TrainingSetRequest): Promise<TrainingSetResult> {
    if (!Array.isArray(request.features) || request.features.length === 0) throw new CapstanError('CAPSTAN_FEATURES_NOT_FOUND', 'name at least one feature (group:feature)', { retryable: false });
    const resolved = await this.resolve(request.features, false);
    return this.parts.trainingSets.build(request, resolved);
  }

  async materialize(group: string, options: { version?: number } = {}): Promise<MaterializeResult> {
    const g = await this.getGroup(group, options.version);
    return this.exclusive(g, () => this.parts.materializer.run(g));
  }

  /** Resolves feature references to their group versions; unknown group or feature is CAPSTAN_FEATURES_NOT_FOUND. */
  private async resolve(refs: string[], cached: boolean): Promise<ResolvedFeature[]> {
    const out: ResolvedFeature[] = [];
    const now = Date.now();
    for (const text of refs) {
      const ref = cached ? this.parsedRef(text) : parseFeatureRef(text);
      // A fresh cached definition is taken without an await: an online read names many features of one group.
      const group = cached ? (this.freshGroup(ref.group, ref.version, now) ?? (await this.cachedGroup(ref.group, ref.version))) : await this.getGroup(ref.group, ref.version);
      if (!group.features.some((f) => f.name === ref.feature)) {
        throw new CapstanError('CAPSTAN_FEATURES_NOT_FOUND', `feature group ${group.name}@${group.version} has no feature ${ref.feature}`, { fields: { group: group.name, version: group.version, feature: ref.feature }, retryable: false });
      }
      out.push({ ref, group });
    }
    return out;
  }

  /** Online reads repeat the same references: each is parsed once (up to PARSED_REFS of them). */
  private parsedRef(text: string): FeatureRef {
    return this.refs.get(text, parseFeatureRef);
  }

  /** The cached definition of a group version while it is fresh, else undefined. */
  private freshGroup(name: string, version: number | undefined, now: number): FeatureGroup | undefined {
    const hit = this.cache.get(`${name}@${version ?? 'latest'}`);
    return hit && hit.until > now ? hit.group : undefined;
  }

  private async cachedGroup(name: string, version?: number): Promise<FeatureGroup> {
    const fresh = this.freshGroup(name, version, Date.now());
    if (fresh) return fresh;
    const group = await this.getGroup(name, version);
    this.cache.set(`${name}@${version ?? 'latest'}`, { group, until: Date.now() + DEFINITION_CACHE_MS });
    return group;
  }

  async readOnline(request: OnlineReadRequest): Promise<OnlineReadResult> {
    const atMs = request.at === undefined ? Date.now() : Date.parse(request.at);
    if (!Number.isFinite(atMs)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `at ${JSON.stringify(request.at)} is not an ISO time`, { retryable: false });
    if (!Array.isArray(request.features) || request.features.length === 0) throw new CapstanError('CAPSTAN_FEATURES_NOT_FOUND', 'name at least one feature (group:feature)', { retryable: false });
    if (!Array.isArray(request.entities)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'entities must be a list of join-key objects', { retryable: false });
    const resolved = await this.resolve(request.features, true);
    const results: OnlineReadResult['results'] = request.entities.map((entity) => ({ entity, values: {} }));
    const byGroup = new Map<FeatureGroup, ResolvedFeature[]>();
    for (const r of resolved) {
      const list = byGroup.get(r.group);
      if (list) list.push(r);
      else byGroup.set(r.group, [r]);
    }
    for (const [group, refs] of byGroup) {
      const keys = request.entities.map((entity, i) => {
        const missing = group.joinKeys.filter((k) => entity?.[k.name] === undefined || entity[k.name] === null);
        if (missing.length) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `entities[${i}] lacks join key ${missing.map((k) => k.name).join(', ')} of feature group ${group.name}`, { retryable: false });
        return encodeEntityKey(group.joinKeys, entity);
      });
      const records = await this.parts.online.read(onlineTable(group.name, group.version), keys);
      records.forEach((rec, i) => {
        const eventTime = rec ? new Date(rec.eventMs).toISOString() : null;
        const expired = rec ? isExpired(rec.eventMs, atMs, group.ttlMs) : false;
        for (const r of refs) {
          let v: OnlineFeatureValue;
          if (!rec) v = { value: null, status: 'NOT_FOUND', eventTime: null };
          else if (expired) v = { value: null, status: 'EXPIRED', eventTime };
          else v = { value: rec.values[r.ref.feature] ?? null, status: 'PRESENT', eventTime };
          results[i].values[r.ref.ref] = v;
        }
      });
    }
    return { features: [...request.features], results };
  }
}

function incompatible(message: string, fields: Record<string, unknown>): CapstanError {
  return new CapstanError('CAPSTAN_FEATURES_SCHEMA_INCOMPATIBLE', message, { fields, retryable: false });
}
