import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { CapstanError } from '../core/errors.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { execute, queryRows, type DuckDbEngine } from './duckdb-engine.js';
import type { FeatureGroup } from './feature-types.js';
import { OfflineFiles } from './offline-files.js';
import {
  columnChecks,
  copyToSql,
  describeSql,
  emptyRawTableSql,
  eventDatesSql,
  ident,
  mergePartitionSql,
  rawTableSql,
  readSourceSql,
  typedTableSql,
  validationSql,
} from './offline-sql.js';

/** Where a batch file is: a local path, a URI inside the artifact store, or an artifact key. */
export interface IngestSource {
  path?: string;
  uri?: string;
  key?: string;
  /** Default: from the file name (`.csv`, `.parquet`/`.pq`). */
  format?: 'csv' | 'parquet';
}

/** One rejected value. */
export interface RowError {
  /** 1-based record number in the batch (a CSV's first data line is row 1). */
  row: number;
  column: string;
  reason: string;
}

/** What an ingestion did. */
export interface IngestResult {
  group: string;
  version: number;
  rowsRead: number;
  /** Rows written to the offline store: new (record id, event time) pairs or changed values. */
  rowsWritten: number;
  /** Rows equal to what the store already held (re-ingesting a file writes nothing). */
  rowsUnchanged: number;
  /** Rows dropped because another row of the batch had the same record id and event time; the one with the latest created time (then the later row) was kept. */
  duplicatesCollapsed: number;
  /** Rows whose event time is after the ingestion time (accepted). */
  futureEventTimes: number;
  /** Event-date partitions rewritten. */
  partitions: string[];
  ingestedAt: string;
}

/** Most per-row errors one refusal lists. */
export const MAX_ROW_ERRORS = 100;

function sourceInvalid(message: string, fields: Record<string, unknown> = {}): CapstanError {
  return new CapstanError('CAPSTAN_FEATURES_SOURCE_INVALID', message, { fields, retryable: false });
}

function formatOf(name: string, format?: string): 'csv' | 'parquet' {
  if (format === 'csv' || format === 'parquet') return format;
  if (format !== undefined) throw sourceInvalid(`format ${JSON.stringify(format)} is not csv or parquet`);
  const ext = path.extname(name).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  throw sourceInvalid(`cannot tell the format of ${path.basename(name)}: name it .csv or .parquet, or pass format`);
}

/** Validates a batch and merges it into the offline store, partition by partition (callers serialise per group version). */
export class Ingestion {
  constructor(
    private readonly engine: DuckDbEngine,
    private readonly files: OfflineFiles,
    private readonly artifacts: ArtifactStore,
  ) {}

  /** Ingests a CSV or Parquet file. */
  async ingestFile(group: FeatureGroup, source: IngestSource): Promise<IngestResult> {
    const resolved = this.resolve(source);
    const staged = await this.files.open(resolved.key ? [resolved.key] : []);
    try {
      const local = resolved.key ? staged.paths[0] : resolved.path!;
      return await this.serialised(group, (conn) => this.loadFile(conn, local, resolved.format).then(() => this.merge(conn, group)));
    } finally {
      await staged.dispose();
    }
  }

  /** Ingests pushed records (JSON objects). */
  async ingestRecords(group: FeatureGroup, records: unknown[]): Promise<IngestResult> {
    const columns: string[] = [];
    const errors: RowError[] = [];
    records.forEach((r, i) => {
      if (typeof r !== 'object' || r === null || Array.isArray(r)) {
        errors.push({ row: i + 1, column: '', reason: 'a record must be a JSON object' });
        return;
      }
      for (const [k, v] of Object.entries(r)) {
        if (!columns.includes(k)) columns.push(k);
        if (v !== null && typeof v === 'object') errors.push({ row: i + 1, column: k, reason: 'not a scalar value' });
      }
    });
    if (errors.length) throw recordsInvalid(group, errors.slice(0, MAX_ROW_ERRORS), errors.length);
    return this.serialised(group, async (conn) => {
      await execute(conn, emptyRawTableSql('raw', columns));
      const appender = await conn.createAppender('raw');
      records.forEach((r, i) => {
        appender.appendBigInt(BigInt(i + 1));
        for (const c of columns) {
          const v = (r as Record<string, unknown>)[c];
          if (v === null || v === undefined) appender.appendNull();
          else appender.appendVarchar(String(v));
        }
        appender.endRow();
      });
      appender.closeSync();
      return this.merge(conn, group);
    });
  }

  private resolve(source: IngestSource): { key?: string; path?: string; format: 'csv' | 'parquet' } {
    const given = [source.path, source.uri, source.key].filter((x) => x !== undefined);
    if (given.length !== 1) throw sourceInvalid('give exactly one of path, uri or key');
    if (source.path !== undefined) {
      if (!existsSync(source.path) || !statSync(source.path).isFile()) throw sourceInvalid(`no such file: ${path.basename(source.path)}`);
      return { path: source.path, format: formatOf(source.path, source.format) };
    }
    const key = source.key ?? this.artifacts.keyFor(source.uri!);
    return { key, format: formatOf(key, source.format) };
  }

  /** Runs `fn` on a fresh engine connection. */
  private serialised(_group: FeatureGroup, fn: (conn: DuckDBConnection) => Promise<IngestResult>): Promise<IngestResult> {
    return this.engine.withConnection(fn);
  }

  private async loadFile(conn: DuckDBConnection, local: string, format: 'csv' | 'parquet'): Promise<void> {
    const source = readSourceSql(local, format);
    const columns = (await queryRows(conn, describeSql(source))).map((r) => String(r.column_name));
    await execute(conn, rawTableSql('raw', source, columns));
  }

  private async merge(conn: DuckDBConnection, group: FeatureGroup): Promise<IngestResult> {
    const ingestedMs = Date.now();
    const columns = (await queryRows(conn, describeSql(ident('raw')))).map((r) => String(r.column_name)).filter((c) => c !== '__row');
    this.checkColumns(group, columns);
    const checks = [
      ...group.joinKeys.flatMap((k) => columnChecks(k.name, k.type, true)),
      ...columnChecks(group.eventTimeColumn, 'event-time', true),
      ...(group.createdTimeColumn ? columnChecks(group.createdTimeColumn, 'event-time', true) : []),
      ...group.features.flatMap((f) => columnChecks(f.name, f.type, false)),
    ];
    const v = validationSql('raw', checks, MAX_ROW_ERRORS);
    const count = Number((await queryRows(conn, v.count))[0].n);
    if (count > 0) {
      const errors = (await queryRows(conn, v.errors)).map((r) => ({ row: Number(r.row), column: String(r.column), reason: String(r.reason) }));
      throw recordsInvalid(group, errors, count);
    }
    const rowsRead = Number((await queryRows(conn, 'SELECT count(*) AS n FROM raw'))[0].n);
    await execute(conn, typedTableSql('batch', 'raw', group, ingestedMs));
    const kept = Number((await queryRows(conn, 'SELECT count(*) AS n FROM batch'))[0].n);
    const future = Number((await queryRows(conn, `SELECT count(*) AS n FROM batch WHERE __event_ms > ${ingestedMs}`))[0].n);
    const dates = (await queryRows(conn, eventDatesSql('batch'))).map((r) => String(r.d));
    const existing = new Set(await this.files.partitionKeys(group.name, group.version));
    let written = 0;
    const partitions: string[] = [];
    for (const date of dates) {
      const key = OfflineFiles.partitionKey(group.name, group.version, date);
      const staged = await this.files.open(existing.has(key) ? [key] : []);
      try {
        const sql = mergePartitionSql('batch', date, staged.paths[0], group);
        const changed = Number((await queryRows(conn, sql.changed))[0].n);
        if (changed === 0) continue;
        const out = path.join(staged.scratch, 'out.parquet');
        await execute(conn, copyToSql(sql.merged, out, 'parquet'));
        await this.files.publish(out, key);
        written += changed;
        partitions.push(date);
      } finally {
        await staged.dispose();
      }
    }
    return {
      group: group.name,
      version: group.version,
      rowsRead,
      rowsWritten: written,
      rowsUnchanged: kept - written,
      duplicatesCollapsed: rowsRead - kept,
      futureEventTimes: future,
      partitions,
      ingestedAt: new Date(ingestedMs).toISOString(),
    };
  }

  private checkColumns(group: FeatureGroup, columns: string[]): void {
    const expected = [...group.joinKeys.map((k) => k.name), group.eventTimeColumn, ...(group.createdTimeColumn ? [group.createdTimeColumn] : []), ...group.features.map((f) => f.name)];
    const missing = expected.filter((c) => !columns.includes(c));
    const unknown = columns.filter((c) => !expected.includes(c));
    if (missing.length || unknown.length) {
      const parts = [missing.length ? `missing column(s) ${missing.join(', ')}` : '', unknown.length ? `unknown column(s) ${unknown.join(', ')}` : ''].filter(Boolean);
      throw new CapstanError('CAPSTAN_FEATURES_RECORDS_INVALID', `the batch does not match the schema of feature group ${group.name}@${group.version}: ${parts.join('; ')}`, {
        fields: { group: group.name, version: group.version, missingColumns: missing, unknownColumns: unknown, errors: [], errorCount: 0 },
        retryable: false,
      });
    }
  }
}

/** CAPSTAN_FEATURES_RECORDS_INVALID listing (row, column, reason) for the first rejected values. */
export function recordsInvalid(group: FeatureGroup, errors: RowError[], total: number): CapstanError {
  const first = errors[0];
  const where = first ? `row ${first.row}${first.column ? `, column ${first.column}` : ''}: ${first.reason}` : '';
  return new CapstanError('CAPSTAN_FEATURES_RECORDS_INVALID', `${total} value(s) do not fit feature group ${group.name}@${group.version}; nothing was written (first: ${where})`, {
    fields: { group: group.name, version: group.version, errors, errorCount: total },
    retryable: false,
  });
}
