import type { Kysely } from 'kysely';
import { CapstanError } from '../core/errors.js';
import type { Database } from '../storage/database.js';
import type { AsyncInvocation, AsyncInvocationState } from './async-service.js';

/** The code an invocation fails with when its job died without its handler ending it. */
export const WORKER_LOST = 'CAPSTAN_ASYNC_WORKER_LOST';

/** Row types of the asynchronous inference tables (migration 0013). */
export interface AsyncTables {
  async_invocations: {
    id: string;
    endpoint: string;
    inference_id: string;
    /** The object holding the payload, or '' when it is inline. */
    input_key: string;
    /** A small inline payload, kept in the row instead of the store (one write less per request). */
    input_inline: string | null;
    output_key: string;
    failure_key: string;
    content_type: string;
    accept: string | null;
    custom_attributes: string | null;
    state: AsyncInvocationState;
    expires_at: number;
    timeout_ms: number;
    notification: string | null;
    failure_reason: string | null;
    created_at: number;
    updated_at: number;
    finished_at: number | null;
  };
  async_endpoint_configs: {
    endpoint: string;
    max_concurrency: number;
    output_prefix: string | null;
    failure_prefix: string | null;
    notification: string | null;
    updated_at: number;
  };
}

/** An invocation row. */
export type AsyncInvocationRow = AsyncTables['async_invocations'];

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/** Reads and writes the asynchronous inference tables. */
export class SqlAsyncStore {
  constructor(
    private readonly database: Database,
    /** URIs of keys, for the API's locations. */
    private readonly uriFor: (key: string) => string,
  ) {}

  /** A typed handle, or the caller's transaction. */
  q(trx?: Kysely<any>): Kysely<AsyncTables> {
    return (trx ?? this.database.as<AsyncTables>()) as Kysely<AsyncTables>;
  }

  /** Runs `fn` in one write transaction. */
  transaction<R>(fn: (trx: Kysely<AsyncTables>) => Promise<R>): Promise<R> {
    return this.database.transaction((trx) => fn(trx as unknown as Kysely<AsyncTables>));
  }

  /** One invocation, or undefined. */
  find(id: string): Promise<AsyncInvocationRow | undefined> {
    return this.q().selectFrom('async_invocations').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Queues again an invocation that ended `Failed` because its job died (`CAPSTAN_ASYNC_WORKER_LOST`),
   * and returns it; undefined when it ended any other way, so an answer or a model's failure stays.
   */
  async revive(id: string): Promise<AsyncInvocationRow | undefined> {
    const now = Date.now();
    return this.q()
      .updateTable('async_invocations')
      .set({ state: 'Queued', failure_reason: null, finished_at: null, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'Failed')
      .where('failure_reason', 'like', `${WORKER_LOST}:%`)
      .returningAll()
      .executeTakeFirst();
  }

  /** The invocation an endpoint already has under a client's inference id, or undefined. */
  findByInferenceId(endpoint: string, inferenceId: string): Promise<AsyncInvocationRow | undefined> {
    return this.q().selectFrom('async_invocations').selectAll().where('endpoint', '=', endpoint).where('inference_id', '=', inferenceId).executeTakeFirst();
  }

  /** One invocation; CAPSTAN_ASYNC_INVOCATION_NOT_FOUND when unknown. */
  async get(id: string): Promise<AsyncInvocationRow> {
    const row = await this.find(id);
    if (!row) throw new CapstanError('CAPSTAN_ASYNC_INVOCATION_NOT_FOUND', `no asynchronous invocation ${id}`, { fields: { id }, retryable: false });
    return row;
  }

  /** The API form of a row. */
  view(row: AsyncInvocationRow): AsyncInvocation {
    return {
      id: row.id,
      endpoint: row.endpoint,
      inferenceId: row.inference_id,
      outputLocation: this.uriFor(row.output_key),
      failureLocation: this.uriFor(row.failure_key),
      state: row.state,
      failureReason: row.failure_reason,
      createdAt: iso(row.created_at)!,
      expiresAt: iso(row.expires_at)!,
      finishedAt: iso(row.finished_at),
    };
  }
}
