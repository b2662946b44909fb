import type { Kysely } from 'kysely';
import { CapstanError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Database } from '../storage/database.js';
import { parseJson } from '../storage/database.js';
import type { BatchJobOptions } from './batch-options.js';
import { publicNotification } from './notification-secrets.js';
import type { BatchJob, BatchJobState, BatchLogLine } from './batch-service.js';

/** Row types of the batch tables (migration 0013). */
export interface BatchTables {
  batch_jobs: {
    id: string;
    model_ref: string;
    model_name: string | null;
    model_version: number | null;
    input_uri: string;
    output_uri: string;
    options: string;
    state: BatchJobState;
    shards_total: number;
    shards_done: number;
    records_total: number;
    records_done: number;
    records_failed: number;
    failure_reason: string | null;
    created_by: string;
    client_token: string | null;
    created_at: number;
    updated_at: number;
    started_at: number | null;
    finished_at: number | null;
  };
  batch_shards: {
    job_id: string;
    shard: number;
    file_index: number;
    first_line: number;
    records: number;
    state: 'pending' | 'done';
    failed: number;
    committed_at: number | null;
  };
  batch_job_logs: { id: string; job_id: string; at: number; message: string };
}

/** A job row. */
export type BatchJobRow = BatchTables['batch_jobs'];

/** Options as the API shows them: the webhook secret left out. */
function publicOptions(o: BatchJobOptions): BatchJobOptions {
  return o.notification ? { ...o, notification: publicNotification(o.notification) as BatchJobOptions['notification'] } : o;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/** The failure file of a job whose output prefix is `outputUri`. */
export function failureUriOf(outputUri: string): string {
  return `${outputUri.replace(/\/+$/, '')}/failures.jsonl`;
}

/** The API form of a job row, with progress computed at `now`. */
export function toBatchJob(row: BatchJobRow, now = Date.now()): BatchJob {
  const total = Number(row.records_total);
  const done = Number(row.records_done);
  const failed = Number(row.records_failed);
  const elapsed = row.started_at === null ? 0 : ((row.finished_at ?? now) - Number(row.started_at)) / 1000;
  const rate = elapsed > 0 && done > 0 ? done / elapsed : null;
  const ended = row.finished_at !== null;
  return {
    id: row.id,
    model: { ref: row.model_ref, name: row.model_name, version: row.model_version === null ? null : Number(row.model_version) },
    input: row.input_uri,
    output: row.output_uri,
    options: publicOptions(parseJson<BatchJobOptions>(row.options, {} as BatchJobOptions)),
    state: row.state,
    shards: { total: Number(row.shards_total), done: Number(row.shards_done) },
    records: { total, done, failed },
    progress: {
      percent: total > 0 ? Math.floor((1000 * done) / total) / 10 : ended ? 100 : 0,
      recordsPerSecond: rate === null ? null : Math.round(rate * 10) / 10,
      etaSeconds: ended ? 0 : rate === null || total === 0 ? null : Math.ceil((total - done) / rate),
    },
    failureUri: ended && failed > 0 ? failureUriOf(row.output_uri) : null,
    failureReason: row.failure_reason,
    createdBy: row.created_by,
    createdAt: iso(row.created_at)!,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}

/** Reads and writes the batch tables. */
export class SqlBatchStore {
  constructor(private readonly database: Database) {}

  /** A typed handle, or the caller's transaction. */
  q(trx?: Kysely<any>): Kysely<BatchTables> {
    return (trx ?? this.database.as<BatchTables>()) as Kysely<BatchTables>;
  }

  /** Runs `fn` in one write transaction. */
  transaction<R>(fn: (trx: Kysely<BatchTables>) => Promise<R>): Promise<R> {
    return this.database.transaction((trx) => fn(trx as unknown as Kysely<BatchTables>));
  }

  /** One job row, or undefined. */
  async find(id: string, trx?: Kysely<any>): Promise<BatchJobRow | undefined> {
    return this.q(trx).selectFrom('batch_jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** One job row; CAPSTAN_BATCH_JOB_NOT_FOUND when unknown. */
  async get(id: string): Promise<BatchJobRow> {
    const row = await this.find(id);
    if (!row) throw new CapstanError('CAPSTAN_BATCH_JOB_NOT_FOUND', `no batch job ${id}`, { fields: { jobId: id }, retryable: false });
    return row;
  }

  /** The job created with a client token, or undefined. */
  async findByToken(token: string): Promise<BatchJobRow | undefined> {
    return this.q().selectFrom('batch_jobs').selectAll().where('client_token', '=', token).executeTakeFirst();
  }

  /** Newest jobs first. */
  async list(limit: number): Promise<BatchJobRow[]> {
    return this.q().selectFrom('batch_jobs').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  /** Appends one log line. */
  async log(jobId: string, message: string, trx?: Kysely<any>): Promise<void> {
    const at = Date.now();
    await this.q(trx).insertInto('batch_job_logs').values({ id: newId('log', at), job_id: jobId, at, message }).execute();
  }

  /** Log lines, oldest first. */
  async logs(jobId: string): Promise<BatchLogLine[]> {
    const rows = await this.q().selectFrom('batch_job_logs').selectAll().where('job_id', '=', jobId).orderBy('id').execute();
    return rows.map((r) => ({ at: iso(r.at)!, message: r.message }));
  }
}
