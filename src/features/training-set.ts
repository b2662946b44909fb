import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { CapstanError } from '../core/errors.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { execute, queryRows, type DuckDbEngine } from './duckdb-engine.js';
import type { FeatureGroup, FeatureRef } from './feature-types.js';
import type { IngestSource, RowError } from './ingestion.js';
import { MAX_ROW_ERRORS } from './ingestion.js';
import { OfflineFiles } from './offline-files.js';
import { castSql, copyToSql, describeSql, epochMsSql, ident, pointInTimeSql, readSourceSql, trainingOutputSql, trainingStatsSql, type PitGroup } from './offline-sql.js';

/** A point-in-time training set request. */
export interface TrainingSetRequest {
  /** The entity table: join keys plus the timestamp column, CSV or Parquet (a local path, a URI in the artifact store, or a key). */
  entities: IngestSource;
  /** Feature references, `group:feature` or `group@2:feature`. */
  features: string[];
  /** Where to write the result: a URI inside the artifact store or a key; the format follows the extension (`.parquet` default, `.csv`). */
  out: { uri?: string; key?: string; format?: 'parquet' | 'csv' };
  /** Also require created time ≤ the row's timestamp ("as known at that time"); default true. */
  asOfKnownTime?: boolean;
  /** The entity table's timestamp column; default `event_timestamp`. */
  timestampColumn?: string;
}

/** Per requested feature: its output column and how many values are null, and how many of those because they expired. */
export interface FeatureColumnStats {
  feature: string;
  column: string;
  nulls: number;
  expired: number;
}

/** The written training set. */
export interface TrainingSetResult {
  uri: string;
  key: string;
  format: 'parquet' | 'csv';
  /** `sha256:<hex>` of the written file. */
  digest: string;
  rows: number;
  features: FeatureColumnStats[];
  /** Entity rows whose timestamp is after the time the set was built (accepted; values are what is stored now). */
  futureTimestamps: number;
  asOfKnownTime: boolean;
  groups: Array<{ name: string; version: number; ttlMs: number | null }>;
  createdAt: string;
}

/** A resolved feature reference. */
export interface ResolvedFeature {
  ref: FeatureRef;
  group: FeatureGroup;
}

function tableInvalid(message: string, fields: Record<string, unknown> = {}): CapstanError {
  return new CapstanError('CAPSTAN_FEATURES_ENTITY_TABLE_INVALID', message, { fields, retryable: false });
}

/** Builds point-in-time training sets with DuckDB over the offline store. */
export class TrainingSetBuilder {
  constructor(
    private readonly engine: DuckDbEngine,
    private readonly files: OfflineFiles,
    private readonly artifacts: ArtifactStore,
  ) {}

  /** Joins `features` onto the entity table as of each row's timestamp and publishes the result. */
  async build(request: TrainingSetRequest, features: ResolvedFeature[]): Promise<TrainingSetResult> {
    const tsColumn = request.timestampColumn ?? 'event_timestamp';
    const asOfKnownTime = request.asOfKnownTime ?? true;
    const outKey = request.out.key ?? (request.out.uri !== undefined ? this.artifacts.keyFor(request.out.uri) : undefined);
    if (!outKey) throw tableInvalid('give the output as out.uri (inside the artifact store) or out.key');
    const format = request.out.format ?? (path.extname(outKey).toLowerCase() === '.csv' ? 'csv' : 'parquet');
    const input = this.inputOf(request.entities);
    const groups = groupsOf(features);
    const groupKeys = await Promise.all(groups.map((g) => this.files.partitionKeys(g.group.name, g.group.version)));
    groups.forEach((g, i) => (g.fileCount = groupKeys[i].length));
    const keys = [...(input.key ? [input.key] : []), ...groupKeys.flat()];
    const staged = await this.files.open(keys);
    try {
      const entityPath = input.key ? staged.paths[0] : input.path!;
      let offset = input.key ? 1 : 0;
      const pit: PitGroup[] = groups.map((g) => {
        const n = g.fileCount;
        const paths = staged.paths.slice(offset, offset + n);
        offset += n;
        return { paths, joinKeys: g.group.joinKeys, ttlMs: g.group.ttlMs, features: g.features };
      });
      return await this.engine.withConnection(async (conn) => {
        const builtMs = Date.now();
        const entityColumns = await this.loadEntities(conn, entityPath, input.format, tsColumn, groups.flatMap((g) => g.group.joinKeys));
        const outputs = outputColumns(features, entityColumns);
        pit.forEach((p, gi) => (p.features = groups[gi].features.map((f) => ({ name: f.name, as: outputs.get(`${gi}:${f.name}`)! }))));
        await execute(conn, pointInTimeSql(entityColumns, pit, asOfKnownTime));
        const statsRow = (await queryRows(conn, trainingStatsSql(pit.flatMap((p, gi) => p.features.map((f) => ({ as: f.as, group: gi }))))))[0];
        const future = Number((await queryRows(conn, `SELECT count(*) AS n FROM entities WHERE __ts_ms > ${builtMs}`))[0].n);
        const local = path.join(staged.scratch, `training-set.${format}`);
        const order = [...entityColumns, ...pit.flatMap((p) => p.features.map((f) => f.as))];
        await execute(conn, copyToSql(trainingOutputSql(order), local, format));
        const info = await this.files.publish(local, outKey);
        return {
          uri: this.artifacts.uriFor(info.key),
          key: info.key,
          format,
          digest: `sha256:${info.sha256}`,
          rows: Number(statsRow.__rows),
          features: features.map((f) => {
            const column = outputs.get(`${groups.findIndex((g) => g.group === groupOf(groups, f))}:${f.ref.feature}`)!;
            return { feature: f.ref.ref, column, nulls: Number(statsRow[`n:${column}`]), expired: Number(statsRow[`x:${column}`]) };
          }),
          futureTimestamps: future,
          asOfKnownTime,
          groups: groups.map((g) => ({ name: g.group.name, version: g.group.version, ttlMs: g.group.ttlMs })),
          createdAt: new Date(builtMs).toISOString(),
        };
      });
    } finally {
      await staged.dispose();
    }
  }

  private inputOf(source: IngestSource): { key?: string; path?: string; format: 'csv' | 'parquet' } {
    const given = [source.path, source.uri, source.key].filter((x) => x !== undefined);
    if (given.length !== 1) throw tableInvalid('give the entity table as exactly one of path, uri or key');
    const name = source.path ?? source.key ?? source.uri!;
    const ext = path.extname(name).toLowerCase();
    const format = source.format ?? (ext === '.csv' ? 'csv' : ext === '.parquet' || ext === '.pq' ? 'parquet' : undefined);
    if (!format) throw tableInvalid(`cannot tell the format of the entity table ${path.basename(name)}: name it .csv or .parquet, or pass format`);
    if (source.path !== undefined) return { path: source.path, format };
    return { key: source.key ?? this.artifacts.keyFor(source.uri!), format };
  }

  /** Loads the entity table as `entities` (`__row`, typed join keys, `__ts_ms`) and returns its own columns. */
  private async loadEntities(conn: DuckDBConnection, local: string, format: 'csv' | 'parquet', tsColumn: string, keys: FeatureGroup['joinKeys']): Promise<string[]> {
    const source = readSourceSql(local, format);
    const columns = (await queryRows(conn, describeSql(source))).map((r) => String(r.column_name));
    if (!columns.includes(tsColumn)) throw tableInvalid(`the entity table has no ${tsColumn} column (it has ${columns.join(', ') || 'none'})`, { missingColumns: [tsColumn] });
    const uniqueKeys = keys.filter((k, i) => keys.findIndex((x) => x.name === k.name) === i);
    const missing = uniqueKeys.filter((k) => !columns.includes(k.name)).map((k) => k.name);
    if (missing.length) throw tableInvalid(`the entity table lacks the join key column(s) ${missing.join(', ')}`, { missingColumns: missing });
    const text = (c: string) => `CAST(${ident(c)} AS VARCHAR)`;
    const replace = uniqueKeys.map((k) => `${castSql(text(k.name), k.type)} AS ${ident(k.name)}`);
    await execute(conn, `CREATE TEMP TABLE entities_raw AS SELECT row_number() OVER () AS __row, * FROM ${source}`);
    const errors: RowError[] = [];
    const checks = [
      { column: tsColumn, cond: `${epochMsSql(text(tsColumn))} IS NULL`, reason: 'missing or not a valid timestamp' },
      ...uniqueKeys.map((k) => ({ column: k.name, cond: `${castSql(text(k.name), k.type)} IS NULL`, reason: `missing or not a valid ${k.type}` })),
    ];
    let total = 0;
    for (const c of checks) {
      total += Number((await queryRows(conn, `SELECT count(*) AS n FROM entities_raw WHERE ${c.cond}`))[0].n);
      const rows = await queryRows(conn, `SELECT __row FROM entities_raw WHERE ${c.cond} ORDER BY __row LIMIT ${MAX_ROW_ERRORS}`);
      for (const r of rows) errors.push({ row: Number(r.__row), column: c.column, reason: c.reason });
    }
    if (total > 0) {
      errors.sort((a, b) => a.row - b.row);
      throw tableInvalid(`${total} entity row value(s) are not valid (first: row ${errors[0].row}, column ${errors[0].column}: ${errors[0].reason})`, { errors: errors.slice(0, MAX_ROW_ERRORS), errorCount: total });
    }
    const visible = columns.filter((c) => !c.startsWith('__'));
    await execute(conn, `CREATE TEMP TABLE entities AS SELECT __row, ${visible.map((c) => { const r = uniqueKeys.find((k) => k.name === c); return r ? replace[uniqueKeys.indexOf(r)] : ident(c); }).join(', ')}, ${epochMsSql(text(tsColumn))} AS __ts_ms FROM entities_raw`);
    return visible;
  }
}

interface GroupPlan {
  group: FeatureGroup;
  features: Array<{ name: string; as: string }>;
  fileCount: number;
}

function groupOf(groups: GroupPlan[], f: ResolvedFeature): FeatureGroup {
  return groups.find((g) => g.group.name === f.group.name && g.group.version === f.group.version)!.group;
}

/** The distinct group versions of the requested features, in first-mention order. */
function groupsOf(features: ResolvedFeature[]): GroupPlan[] {
  const plans: GroupPlan[] = [];
  for (const f of features) {
    let plan = plans.find((p) => p.group.name === f.group.name && p.group.version === f.group.version);
    if (!plan) plans.push((plan = { group: f.group, features: [], fileCount: 0 }));
    if (!plan.features.some((x) => x.name === f.ref.feature)) plan.features.push({ name: f.ref.feature, as: f.ref.feature });
  }
  return plans;
}

/** Output column per `groupIndex:feature`: the feature's name, or `group__feature` when that name is taken twice. */
function outputColumns(features: ResolvedFeature[], entityColumns: string[]): Map<string, string> {
  const groups = groupsOf(features);
  const counts = new Map<string, number>();
  for (const g of groups) for (const f of g.features) counts.set(f.name, (counts.get(f.name) ?? 0) + 1);
  const out = new Map<string, string>();
  groups.forEach((g, gi) => {
    for (const f of g.features) {
      const clash = (counts.get(f.name) ?? 0) > 1 || entityColumns.includes(f.name);
      out.set(`${gi}:${f.name}`, clash ? `${g.group.name}${g.group.version > 1 ? `_v${g.group.version}` : ''}__${f.name}` : f.name);
    }
  });
  return out;
}
