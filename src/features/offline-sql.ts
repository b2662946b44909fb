/**
 * Every SQL text the offline store runs is generated here, and only here, so another engine (Spark
 * SQL, Trino) is one more module with the same functions (decision 0013). The dialect is DuckDB's.
 * Offline files hold, per row: the join keys (typed), `__event_ms`, `__created_ms` and
 * `__ingested_ms` (milliseconds since the epoch, UTC) and the features (typed).
 */
import type { TypedColumn, ValueType } from './feature-types.js';
import { expiredSql } from './ttl-rule.js';

/** A double-quoted identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A single-quoted string literal. */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A list of file paths as a DuckDB list literal. */
function fileList(paths: string[]): string {
  return `[${paths.map(literal).join(', ')}]`;
}

/** Reads a source file with every column as text (CSV) or as stored (Parquet). */
export function readSourceSql(path: string, format: 'csv' | 'parquet'): string {
  return format === 'csv' ? `read_csv(${literal(path)}, all_varchar = true, header = true, auto_detect = true)` : `read_parquet(${literal(path)})`;
}

/** The source's columns, in file order. */
export function describeSql(source: string): string {
  return `DESCRIBE SELECT * FROM ${source}`;
}

/** A temporary table `table` of the source with every column as VARCHAR and a 1-based `__row` in file order. */
export function rawTableSql(table: string, source: string, columns: string[]): string {
  const cols = columns.map((c) => `CAST(${ident(c)} AS VARCHAR) AS ${ident(c)}`).join(', ');
  return `CREATE TEMP TABLE ${ident(table)} AS SELECT row_number() OVER () AS __row${cols ? `, ${cols}` : ''} FROM ${source}`;
}

/** An empty temporary table of VARCHAR columns plus `__row`, for records appended one by one. */
export function emptyRawTableSql(table: string, columns: string[]): string {
  return `CREATE TEMP TABLE ${ident(table)} (__row BIGINT${columns.map((c) => `, ${ident(c)} VARCHAR`).join('')})`;
}

/** The typed value of a text column, NULL when it does not parse. */
export function castSql(expr: string, type: ValueType): string {
  switch (type) {
    case 'string':
      return expr;
    case 'int64':
      // TRY_CAST would round '2.5' to 3; an integer column takes integers only.
      return `CASE WHEN regexp_full_match(trim(${expr}), '[+-]?[0-9]+') THEN TRY_CAST(trim(${expr}) AS BIGINT) END`;
    case 'float64':
      return `TRY_CAST(${expr} AS DOUBLE)`;
    case 'bool':
      return `TRY_CAST(${expr} AS BOOLEAN)`;
    case 'timestamp':
      return `CAST(TRY_CAST(${expr} AS TIMESTAMPTZ) AS TIMESTAMP)`;
  }
}

/** Milliseconds since the epoch (UTC) of a text timestamp, NULL when it does not parse. */
export function epochMsSql(expr: string): string {
  return `epoch_ms(TRY_CAST(${expr} AS TIMESTAMPTZ))`;
}

/** One column check: a row fails when `failsWhen` holds; the error names the row, the column and the reason. */
export interface ColumnCheck {
  column: string;
  failsWhen: string;
  reason: string;
}

/** Checks for a typed column: required (not null) and parseable as its type. */
export function columnChecks(column: string, type: ValueType | 'event-time', required: boolean): ColumnCheck[] {
  const c = ident(column);
  const checks: ColumnCheck[] = [];
  if (required) checks.push({ column, failsWhen: `${c} IS NULL OR trim(${c}) = ''`, reason: 'a value is required' });
  const parsed = type === 'event-time' ? epochMsSql(c) : castSql(c, type);
  if (type !== 'string') checks.push({ column, failsWhen: `${c} IS NOT NULL AND trim(${c}) <> '' AND ${parsed} IS NULL`, reason: `not a valid ${type === 'event-time' ? 'timestamp' : type}` });
  return checks;
}

/** The first `limit` failing (row, column, reason) triples of a raw table, by row, and the total. */
export function validationSql(table: string, checks: ColumnCheck[], limit: number): { errors: string; count: string } {
  if (checks.length === 0) return { errors: 'SELECT NULL AS "row" WHERE false', count: 'SELECT 0 AS n' };
  const union = checks
    .map((k) => `SELECT __row AS "row", ${literal(k.column)} AS "column", ${literal(k.reason)} || ': ' || coalesce(${literal('"')} || left(${ident(k.column)}, 60) || ${literal('"')}, 'missing') AS reason FROM ${ident(table)} WHERE ${k.failsWhen}`)
    .join(' UNION ALL ');
  return { errors: `SELECT * FROM (${union}) ORDER BY "row", "column" LIMIT ${limit}`, count: `SELECT count(*) AS n FROM (${union})` };
}

/** What `typedTableSql` needs of a group. */
export interface GroupColumns {
  joinKeys: TypedColumn[];
  eventTimeColumn: string;
  createdTimeColumn: string | null;
  features: TypedColumn[];
}

/**
 * The typed batch: one row per (record id, event time), the duplicates in the batch collapsed to the
 * one with the latest created time (ties: the later row). Without a created-time column, the created
 * time is the event time (the value counts as known when it happened; declare a created-time column
 * for backfills, so they stay invisible to training rows before they were loaded).
 */
export function typedTableSql(table: string, raw: string, g: GroupColumns, ingestedMs: number): string {
  const keys = g.joinKeys.map((k) => `${castSql(ident(k.name), k.type)} AS ${ident(k.name)}`);
  const feats = g.features.map((f) => `${castSql(ident(f.name), f.type)} AS ${ident(f.name)}`);
  const created = g.createdTimeColumn ? epochMsSql(ident(g.createdTimeColumn)) : epochMsSql(ident(g.eventTimeColumn));
  const partition = [...g.joinKeys.map((k) => ident(k.name)), '__event_ms'].join(', ');
  return `CREATE TEMP TABLE ${ident(table)} AS SELECT * FROM (
    SELECT __row, ${keys.join(', ')}, ${epochMsSql(ident(g.eventTimeColumn))} AS __event_ms, ${created} AS __created_ms, ${ingestedMs}::BIGINT AS __ingested_ms${feats.length ? `, ${feats.join(', ')}` : ''}
    FROM ${ident(raw)}
  ) QUALIFY row_number() OVER (PARTITION BY ${partition} ORDER BY __created_ms DESC, __row DESC) = 1`;
}

/** The event dates (UTC, `YYYY-MM-DD`) a typed batch touches. */
export function eventDatesSql(table: string): string {
  return `SELECT DISTINCT strftime(epoch_ms(__event_ms), '%Y-%m-%d') AS d FROM ${ident(table)} ORDER BY d`;
}

/** Offline file columns in their stored order. */
function storedColumns(g: GroupColumns): string[] {
  return [...g.joinKeys.map((k) => ident(k.name)), '__event_ms', '__created_ms', '__ingested_ms', ...g.features.map((f) => ident(f.name))];
}

/**
 * The rows of one partition after merging the batch's rows of that date into the existing file:
 * a batch row equal in values to a stored one changes nothing (re-ingesting is a no-op); otherwise
 * per (record id, event time) the later created time wins, the batch on a tie. `changed` counts
 * batch rows that were written.
 */
export function mergePartitionSql(batch: string, date: string, existingPath: string | undefined, g: GroupColumns): { merged: string; changed: string } {
  const cols = storedColumns(g).join(', ');
  const inDate = `SELECT ${cols} FROM ${ident(batch)} WHERE strftime(epoch_ms(__event_ms), '%Y-%m-%d') = ${literal(date)}`;
  if (!existingPath) return { merged: `SELECT ${cols} FROM (${inDate})`, changed: `SELECT count(*) AS n FROM (${inDate})` };
  const existing = `SELECT ${cols} FROM read_parquet(${literal(existingPath)}, union_by_name = true)`;
  const same = [...g.joinKeys.map((k) => ident(k.name)), '__event_ms', ...g.features.map((f) => ident(f.name))].map((c) => `b.${c} IS NOT DISTINCT FROM x.${c}`).join(' AND ');
  const changedRows = `SELECT b.* FROM (${inDate}) b WHERE NOT EXISTS (SELECT 1 FROM (${existing}) x WHERE ${same})`;
  const partition = [...g.joinKeys.map((k) => ident(k.name)), '__event_ms'].join(', ');
  const merged = `SELECT ${cols} FROM (
    SELECT *, 0 AS __src FROM (${existing}) UNION ALL SELECT *, 1 AS __src FROM (${changedRows})
  ) QUALIFY row_number() OVER (PARTITION BY ${partition} ORDER BY __created_ms DESC, __src DESC) = 1
  ORDER BY ${partition}`;
  return { merged, changed: `SELECT count(*) AS n FROM (${changedRows})` };
}

/** Writes a query's result to a Parquet (zstd) or CSV file. */
export function copyToSql(query: string, path: string, format: 'parquet' | 'csv'): string {
  return format === 'parquet' ? `COPY (${query}) TO ${literal(path)} (FORMAT parquet, COMPRESSION zstd)` : `COPY (${query}) TO ${literal(path)} (FORMAT csv, HEADER true)`;
}

/** One group of a point-in-time join. */
export interface PitGroup {
  /** Offline files of the group version (may be empty). */
  paths: string[];
  joinKeys: TypedColumn[];
  ttlMs: number | null;
  /** Features to take, with their output column names. */
  features: Array<{ name: string; as: string }>;
}

/**
 * The point-in-time join, as one statement creating the temporary table `result`: for each entity
 * row (`entities`, with `__row` and `__ts_ms`) and each group, the stored row of the same record id
 * with the greatest event time ≤ the row's timestamp and, when `asOfKnownTime`, created time ≤ the
 * timestamp too (ties on event time: the later created time). A value older than the TTL at the
 * row's timestamp is NULL and flagged in `__expired_<i>`. Every entity row stays, in input order.
 *
 * The as-of-known-time case is exact and mostly cheap: an ASOF join finds the candidate by event time;
 * only rows whose candidate was not yet known at the timestamp fall back to a range join.
 */
export function pointInTimeSql(entityColumns: string[], groups: PitGroup[], asOfKnownTime: boolean): string {
  const ctes: string[] = [];
  const joins: string[] = [];
  const selects = entityColumns.map((c) => `e.${ident(c)}`);
  groups.forEach((g, i) => {
    const src = `g${i}_src`;
    const keys = g.joinKeys.map((k) => ident(k.name));
    const featureCols = g.features.map((f) => `s.${ident(f.name)}`);
    const srcSelect = [...keys, '__event_ms', '__created_ms', ...g.features.map((f) => ident(f.name))].join(', ');
    ctes.push(
      g.paths.length
        ? `${src} AS (SELECT ${srcSelect} FROM read_parquet(${fileList(g.paths)}, union_by_name = true))`
        : `${src} AS (SELECT ${[...g.joinKeys.map((k) => `CAST(NULL AS ${duckType(k.type)}) AS ${ident(k.name)}`), 'CAST(NULL AS BIGINT) AS __event_ms', 'CAST(NULL AS BIGINT) AS __created_ms', ...g.features.map((f) => `NULL AS ${ident(f.name)}`)].join(', ')} WHERE false)`,
    );
    const keyEq = keys.map((k) => `e.${k} = s.${k}`).join(' AND ');
    const picked = ['e.__row', 's.__event_ms AS __ev', 's.__created_ms AS __cr', ...featureCols].join(', ');
    const asof = `SELECT ${picked} FROM entities e ASOF LEFT JOIN ${src} s ON ${keyEq} AND e.__ts_ms >= s.__event_ms`;
    if (!asOfKnownTime) {
      ctes.push(`g${i} AS (${asof})`);
    } else {
      ctes.push(`g${i}_asof AS (${asof})`);
      ctes.push(
        `g${i} AS (
          SELECT a.* FROM g${i}_asof a JOIN entities e ON e.__row = a.__row WHERE a.__ev IS NULL OR a.__cr <= e.__ts_ms
          UNION ALL
          SELECT * FROM (
            SELECT ${picked} FROM entities e
            JOIN g${i}_asof a ON a.__row = e.__row AND a.__ev IS NOT NULL AND a.__cr > e.__ts_ms
            LEFT JOIN ${src} s ON ${keyEq} AND s.__event_ms <= e.__ts_ms AND s.__created_ms <= e.__ts_ms
          ) QUALIFY row_number() OVER (PARTITION BY __row ORDER BY __ev DESC NULLS LAST, __cr DESC NULLS LAST) = 1
        )`,
      );
    }
    const expired = `(g${i}.__ev IS NOT NULL AND ${expiredSql(`g${i}.__ev`, 'e.__ts_ms', g.ttlMs)})`;
    joins.push(`LEFT JOIN g${i} ON g${i}.__row = e.__row`);
    for (const f of g.features) selects.push(`CASE WHEN ${expired} THEN NULL ELSE g${i}.${ident(f.name)} END AS ${ident(f.as)}`);
    selects.push(`${expired} AS __expired_${i}`);
  });
  return `CREATE TEMP TABLE result AS WITH ${ctes.join(',\n')}
    SELECT e.__row, ${selects.join(', ')} FROM entities e ${joins.join(' ')}`;
}

/** The DuckDB type of a value type. */
export function duckType(type: ValueType): string {
  return { string: 'VARCHAR', int64: 'BIGINT', float64: 'DOUBLE', bool: 'BOOLEAN', timestamp: 'TIMESTAMP' }[type];
}

/** Per output feature: how many values are NULL and how many of those are expired. */
export function trainingStatsSql(features: Array<{ as: string; group: number }>): string {
  const parts = features.flatMap((f) => [`count(*) FILTER (WHERE ${ident(f.as)} IS NULL) AS ${ident(`n:${f.as}`)}`, `count(*) FILTER (WHERE __expired_${f.group}) AS ${ident(`x:${f.as}`)}`]);
  return `SELECT count(*) AS __rows${parts.length ? `, ${parts.join(', ')}` : ''} FROM result`;
}

/** The result rows in input order without the helper columns. */
export function trainingOutputSql(columns: string[]): string {
  return `SELECT ${columns.map(ident).join(', ')} FROM result ORDER BY __row`;
}

/**
 * The newest row per record id among rows ingested after `watermarkMs` (materialization): the
 * greatest event time, then the greatest created time. Rows ingested earlier are already online.
 */
export function latestPerKeySql(paths: string[], g: GroupColumns, watermarkMs: number): string {
  const keys = g.joinKeys.map((k) => ident(k.name));
  const cols = [...keys, '__event_ms', '__created_ms', '__ingested_ms', ...g.features.map((f) => ident(f.name))].join(', ');
  return `SELECT ${cols} FROM read_parquet(${fileList(paths)}, union_by_name = true) WHERE __ingested_ms > ${Math.trunc(watermarkMs)}
    QUALIFY row_number() OVER (PARTITION BY ${keys.join(', ')} ORDER BY __event_ms DESC, __created_ms DESC) = 1`;
}
