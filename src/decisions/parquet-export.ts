import { writeFileSync } from 'node:fs';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { DecisionRecord } from './decision-types.js';

/** Media type of a Parquet file. */
export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

/**
 * Decision records as the bytes of a Parquet file: one row per record with its scalar fields as typed
 * columns and the reasons, output and full snapshot as JSON columns (what the JSONL export holds, for
 * DuckDB, Spark or pandas). The writer encodes JSON columns itself: values go in as they are, not as
 * JSON text (which would store a JSON string literal).
 */
export function recordsParquet(records: DecisionRecord[]): Uint8Array {
  const col = <T>(f: (r: DecisionRecord) => T) => records.map(f);
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: col((r) => r.id), type: 'STRING' },
      { name: 'usecase', data: col((r) => r.usecase), type: 'STRING' },
      { name: 'version', data: col((r) => r.version), type: 'INT32' },
      { name: 'role', data: col((r) => r.role), type: 'STRING' },
      { name: 'subject', data: col((r) => r.subject), type: 'STRING' },
      { name: 'status', data: col((r) => r.status), type: 'STRING' },
      { name: 'outcome', data: col((r) => r.outcome), type: 'STRING' },
      { name: 'reasons', data: col((r) => r.reasons), type: 'JSON' },
      { name: 'output', data: col((r) => r.output), type: 'JSON' },
      { name: 'latency_ms', data: col((r) => r.latencyMs), type: 'DOUBLE' },
      { name: 'time', data: col((r) => new Date(r.time)), type: 'TIMESTAMP' },
      { name: 'snapshot', data: col((r) => r.snapshot), type: 'JSON' },
    ],
  });
  return new Uint8Array(buffer);
}

/** Writes decision records as a Parquet file (see recordsParquet). */
export function writeRecordsParquet(file: string, records: DecisionRecord[]): void {
  writeFileSync(file, recordsParquet(records));
}
