import type { Kysely } from 'kysely';
import type { CapstanConfig } from '../../core/config.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { CapstanError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { assertName } from '../../core/names.js';
import type { Database } from '../database.js';
import type { EnqueueOptions, Job } from './job.js';
import { appendJobDeadEvents } from './job-dead-event.js';
import { backoffDelay, describeError, retryHintMs } from './retry-policy.js';
import { byPriority, toJob, type JobRow, type JobsTables } from './job-row.js';
import { JOB_STATES, type JobListFilter, type JobPage, type JobStats, type JobsService } from './jobs-service.js';

/** The queue settings from `CapstanConfig['queue']`. */
export type QueueSettings = CapstanConfig['queue'];

/** Test seams; production uses the wall clock and Math.random. */
export interface JobQueueOptions {
  /** Source of "now" for run-at, leases and backoff; default the wall clock. */
  clock?: Clock;
  /** Uniform [0, 1) source for backoff jitter; default Math.random. */
  random?: () => number;
}

/** Which jobs a worker wants and for how long it holds them. */
export interface LeaseOptions {
  /** Only these queues; default all. */
  queues?: string[];
  /** Only these job types; default all. */
  types?: string[];
  /** Most jobs to claim at once; default 1. */
  limit?: number;
  /** Lease length in ms; default the configured `queue.leaseMs`. */
  leaseMs?: number;
}

/** How a failed attempt ends. */
export interface FailOptions {
  /** False sends the job straight to `dead`; default true (retry with backoff while attempts remain). */
  retryable?: boolean;
}

/** One job to enqueue in a batch. */
export interface EnqueueItem {
  type: string;
  payload: unknown;
  options?: EnqueueOptions;
}

const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;
// 18 columns per row stays far below SQLite's limit of 32766 bound parameters per statement.
const INSERT_CHUNK = 500;

function invalid(detail: string): CapstanError {
  return new CapstanError('CAPSTAN_REQUEST_INVALID', detail);
}

function checkInt(value: unknown, what: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw invalid(`${what} must be an integer >= ${min}`);
  return value;
}

/**
 * The durable job queue on the metadata DB (DESIGN §4 "Queue semantics"): at-least-once delivery
 * through leases that expire unless heartbeated, retries with full-jitter exponential backoff, a
 * visible `dead` state and idempotent enqueue. On PostgreSQL, leasing uses `FOR UPDATE SKIP LOCKED`
 * so many workers on many machines claim disjoint jobs without waiting on each other; on SQLite the
 * lease runs inside a `BEGIN IMMEDIATE` transaction, which serialises claimers across processes.
 */
export class JobQueue implements JobsService {
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(
    private readonly db: Database,
    readonly settings: QueueSettings,
    options: JobQueueOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  private get q(): Kysely<JobsTables> {
    return this.db.as<JobsTables>();
  }

  /**
   * Adds a job. With an idempotency key, a job already enqueued with the same key on the same queue
   * (in any state) is returned instead; the unique index decides races between concurrent callers.
   * Pass `into` (a transaction) to enqueue atomically with the caller's own writes.
   */
  async enqueue<P = unknown>(type: string, payload: P, options: EnqueueOptions = {}, into?: Kysely<any>): Promise<Job<P>> {
    const trx = (into ?? this.q) as Kysely<JobsTables>;
    const row = this.newRow(type, payload, options);
    const inserted = await trx
      .insertInto('jobs')
      .values(row)
      .onConflict((oc) => oc.columns(['queue', 'idempotency_key']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return toJob<P>(row);
    const existing = await trx
      .selectFrom('jobs')
      .selectAll()
      .where('queue', '=', row.queue)
      .where('idempotency_key', '=', row.idempotency_key!)
      .executeTakeFirstOrThrow();
    return toJob<P>(existing);
  }

  /**
   * Enqueues many jobs in one transaction: all of them or none. Jobs without an idempotency key go in
   * multi-row inserts, so a batch of thousands costs a few statements.
   */
  async enqueueMany(items: EnqueueItem[]): Promise<Job[]> {
    return this.db.transaction(async (anyTrx) => {
      const trx = anyTrx as unknown as Kysely<JobsTables>;
      const jobs: Job[] = new Array(items.length);
      const plain: JobRow[] = [];
      for (const [i, item] of items.entries()) {
        if (item.options?.idempotencyKey !== undefined) jobs[i] = await this.enqueue(item.type, item.payload, item.options, trx);
        else {
          const row = this.newRow(item.type, item.payload, item.options ?? {});
          plain.push(row);
          jobs[i] = toJob(row);
        }
      }
      for (let i = 0; i < plain.length; i += INSERT_CHUNK) await trx.insertInto('jobs').values(plain.slice(i, i + INSERT_CHUNK)).execute();
      return jobs;
    });
  }

  private newRow(type: string, payload: unknown, options: EnqueueOptions): JobRow {
    assertName(type, 'job type');
    const queue = assertName(options.queue ?? 'default', 'queue name');
    const priority = options.priority ?? 0;
    if (!Number.isSafeInteger(priority)) throw invalid('priority must be an integer');
    const maxAttempts = checkInt(options.maxAttempts ?? this.settings.maxAttempts, 'maxAttempts', 1);
    const key = options.idempotencyKey ?? null;
    if (key !== null && (typeof key !== 'string' || key.length === 0 || key.length > 200)) throw invalid('idempotencyKey must be 1-200 characters');
    const now = this.clock.now();
    const runAt = options.runAt ?? now;
    if (!Number.isFinite(runAt)) throw invalid('runAt must be epoch milliseconds');
    const text = JSON.stringify(payload ?? null);
    if (text === undefined) throw invalid('payload must be JSON-serialisable');
    return {
      id: newId('job', now),
      queue,
      type,
      payload: text,
      state: 'queued',
      priority,
      run_at: Math.trunc(runAt),
      attempts: 0,
      max_attempts: maxAttempts,
      idempotency_key: key,
      lease_owner: null,
      lease_expires_at: null,
      last_error: null,
      result: null,
      created_at: now,
      updated_at: now,
      started_at: null,
      finished_at: null,
    };
  }

  /**
   * Claims up to `limit` ready jobs for `workerId`: queued jobs whose run-at has come, and running jobs
   * whose lease expired (their worker died), highest priority first, then oldest run-at. Each claim
   * counts as an attempt. A job whose lease expired on its last attempt becomes dead instead.
   */
  async lease(workerId: string, options: LeaseOptions = {}): Promise<Job[]> {
    const limit = checkInt(options.limit ?? 1, 'limit', 1);
    const leaseMs = checkInt(options.leaseMs ?? this.settings.leaseMs, 'leaseMs', 1);
    if (options.queues?.length === 0 || options.types?.length === 0) return [];
    // An idle poll only reads: the claiming transaction takes SQLite's write lock, which every worker
    // polling would otherwise take several times a second for nothing. Expired leases of any queue
    // count, as the reaping inside the transaction covers every queue.
    const probeAt = this.clock.now();
    const work = await this.q
      .selectFrom('jobs')
      .select('id')
      .where((eb) => {
        const queued = [eb('state', '=', 'queued'), eb('run_at', '<=', probeAt)];
        if (options.queues) queued.push(eb('queue', 'in', options.queues));
        if (options.types) queued.push(eb('type', 'in', options.types));
        return eb.or([eb.and(queued), eb.and([eb('state', '=', 'running'), eb('lease_expires_at', '<', probeAt)])]);
      })
      .limit(1)
      .executeTakeFirst();
    if (!work) return [];
    const rows = await this.db.transaction(async (anyTrx) => {
      const trx = anyTrx as unknown as Kysely<JobsTables>;
      const now = this.clock.now();
      await this.reapExhausted(trx, now);
      let pick = trx
        .selectFrom('jobs')
        .select('id')
        .where((eb) =>
          eb.or([
            eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', now)]),
            eb.and([eb('state', '=', 'running'), eb('lease_expires_at', '<', now), eb('attempts', '<', eb.ref('max_attempts'))]),
          ]),
        );
      if (options.queues) pick = pick.where('queue', 'in', options.queues);
      if (options.types) pick = pick.where('type', 'in', options.types);
      pick = pick.orderBy('priority', 'desc').orderBy('run_at', 'asc').orderBy('id', 'asc').limit(limit);
      if (this.db.dialect === 'postgres') pick = pick.forUpdate().skipLocked();
      const ids = (await pick.execute()).map((r) => r.id);
      if (ids.length === 0) return [];
      return trx
        .updateTable('jobs')
        .set((eb) => ({
          state: 'running' as const,
          lease_owner: workerId,
          lease_expires_at: now + leaseMs,
          attempts: eb('attempts', '+', 1),
          started_at: now,
          updated_at: now,
        }))
        .where('id', 'in', ids)
        .returningAll()
        .execute();
    });
    return rows.sort(byPriority).map((r) => toJob(r));
  }

  /** Running jobs whose lease ran out on their final attempt will never be leased again: mark them dead. */
  private async reapExhausted(trx: Kysely<JobsTables>, now: number): Promise<void> {
    let exhausted = trx
      .selectFrom('jobs')
      .select('id')
      .where('state', '=', 'running')
      .where('lease_expires_at', '<', now)
      .where((eb) => eb('attempts', '>=', eb.ref('max_attempts')));
    // Rows another claimer is reaping right now are skipped rather than waited for (no lock-order deadlocks).
    if (this.db.dialect === 'postgres') exhausted = exhausted.forUpdate().skipLocked();
    const ids = (await exhausted.execute()).map((r) => r.id);
    if (ids.length === 0) return;
    const dead = await trx
      .updateTable('jobs')
      .set({
        state: 'dead',
        last_error: 'the lease expired on the final attempt (the worker stopped heartbeating)',
        lease_expires_at: null,
        finished_at: now,
        updated_at: now,
      })
      .where('id', 'in', ids)
      .returningAll()
      .execute();
    // No handler runs for these: the event is how their owners learn of it.
    await appendJobDeadEvents(trx, dead, this.clock);
  }


  /**
   * Throws CAPSTAN_QUEUE_LEASE_LOST unless `workerId` holds the job's lease. Inside a transaction the
   * row stays locked until commit (`FOR UPDATE` on PostgreSQL, the write lock on SQLite), so no other
   * worker can lease the job between this check and the caller's commit.
   */
  async assertLease(jobId: string, workerId: string, into?: Kysely<any>): Promise<void> {
    let q = ((into ?? this.q) as Kysely<JobsTables>).selectFrom('jobs').select('id').where('id', '=', jobId).where('state', '=', 'running').where('lease_owner', '=', workerId);
    if (this.db.dialect === 'postgres') q = q.forUpdate();
    if (!(await q.executeTakeFirst())) throw await this.leaseLost(jobId, workerId, into);
  }

  /** Extends the lease of a job `workerId` still owns; throws CAPSTAN_QUEUE_LEASE_LOST otherwise. */
  async heartbeat(jobId: string, workerId: string, leaseMs = this.settings.leaseMs): Promise<void> {
    const now = this.clock.now();
    const r = await this.q
      .updateTable('jobs')
      .set({ lease_expires_at: now + leaseMs, updated_at: now })
      .where('id', '=', jobId)
      .where('state', '=', 'running')
      .where('lease_owner', '=', workerId)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw await this.leaseLost(jobId, workerId);
  }

  /** Marks a job `workerId` owns as succeeded with `result`; throws CAPSTAN_QUEUE_LEASE_LOST otherwise. */
  async ack(jobId: string, workerId: string, result?: unknown): Promise<Job> {
    const now = this.clock.now();
    const text = JSON.stringify(result ?? null) ?? 'null';
    const row = await this.q
      .updateTable('jobs')
      .set({ state: 'succeeded', result: text, lease_expires_at: null, finished_at: now, updated_at: now })
      .where('id', '=', jobId)
      .where('state', '=', 'running')
      .where('lease_owner', '=', workerId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw await this.leaseLost(jobId, workerId);
    return toJob(row);
  }

  /**
   * Records a failed attempt. While attempts remain and the error is retryable the job is queued again
   * after the delay the error asks for (`retryHintMs`, at most backoffMaxMs), else after
   * `backoffDelay(attempts)`; otherwise it is dead. Throws CAPSTAN_QUEUE_LEASE_LOST when
   * `workerId` no longer owns the job.
   */
  async fail(jobId: string, workerId: string, error: unknown, options: FailOptions = {}): Promise<Job> {
    const current = await this.q.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    if (!current || current.state !== 'running' || current.lease_owner !== workerId) throw await this.leaseLost(jobId, workerId);
    const now = this.clock.now();
    const dead = options.retryable === false || current.attempts >= current.max_attempts;
    const hint = retryHintMs(error);
    const delay = dead ? 0 : hint !== undefined ? Math.min(hint, this.settings.backoffMaxMs) : backoffDelay(current.attempts, this.settings.backoffBaseMs, this.settings.backoffMaxMs, this.random);
    const update = (via: Kysely<JobsTables>) =>
      via
        .updateTable('jobs')
        .set(
          dead
            ? { state: 'dead', last_error: describeError(error), lease_expires_at: null, finished_at: now, updated_at: now }
            : { state: 'queued', last_error: describeError(error), lease_owner: null, lease_expires_at: null, run_at: now + delay, updated_at: now },
        )
        .where('id', '=', jobId)
        .where('state', '=', 'running')
        .where('lease_owner', '=', workerId)
        // The attempt number pins this update to the lease we read, not a later one by the same worker.
        .where('attempts', '=', current.attempts)
        .returningAll()
        .executeTakeFirst();
    const row = dead
      ? await this.db.transaction(async (anyTrx) => {
          const trx = anyTrx as unknown as Kysely<JobsTables>;
          const r = await update(trx);
          if (r) await appendJobDeadEvents(trx, [r], this.clock);
          return r;
        })
      : await update(this.q);
    if (!row) throw await this.leaseLost(jobId, workerId);
    return toJob(row);
  }

  /**
   * Puts every job `workerId` is running back in the queue, giving back the attempt its lease counted,
   * so a gracefully stopping worker hands its work over without waiting for leases to expire.
   */
  async releaseLeases(workerId: string): Promise<number> {
    const now = this.clock.now();
    const r = await this.q
      .updateTable('jobs')
      .set((eb) => ({ state: 'queued' as const, lease_owner: null, lease_expires_at: null, attempts: eb('attempts', '-', 1), updated_at: now }))
      .where('state', '=', 'running')
      .where('lease_owner', '=', workerId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** One job (read through `via`, a transaction, when given); throws CAPSTAN_QUEUE_JOB_NOT_FOUND. */
  async get(id: string, via?: Kysely<any>): Promise<Job> {
    const row = await ((via ?? this.q) as Kysely<JobsTables>).selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new CapstanError('CAPSTAN_QUEUE_JOB_NOT_FOUND', `no job ${JSON.stringify(id.slice(0, 80))}`, { fields: { jobId: id } });
    return toJob(row);
  }

  /** Lists jobs newest first, filtered by state, queue and type, a page at a time. */
  async list(filter: JobListFilter = {}): Promise<JobPage> {
    const limit = filter.limit ?? DEFAULT_PAGE;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) throw invalid(`limit must be an integer from 1 to ${MAX_PAGE}`);
    if (filter.state !== undefined && !JOB_STATES.includes(filter.state)) throw invalid(`state must be one of ${JOB_STATES.join(', ')}`);
    let q = this.q.selectFrom('jobs').selectAll();
    if (filter.state) q = q.where('state', '=', filter.state);
    if (filter.queue) q = q.where('queue', '=', filter.queue);
    if (filter.type) q = q.where('type', '=', filter.type);
    if (filter.cursor) q = q.where('id', '<', filter.cursor);
    const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
    const page = rows.slice(0, limit);
    return { jobs: page.map((r) => toJob(r)), nextCursor: rows.length > limit ? page[page.length - 1].id : null };
  }

  /**
   * Re-queues a dead or cancelled job to run now. Attempts are reset to 0, so the job gets its full
   * `maxAttempts` again; `lastError` is kept as the record of why it had stopped.
   */
  async retry(id: string): Promise<Job> {
    const now = this.clock.now();
    const row = await this.q
      .updateTable('jobs')
      .set({ state: 'queued', attempts: 0, run_at: now, lease_owner: null, lease_expires_at: null, result: null, finished_at: null, updated_at: now })
      .where('id', '=', id)
      .where('state', 'in', ['dead', 'cancelled'])
      .returningAll()
      .executeTakeFirst();
    if (!row) throw await this.stateInvalid(id, 'retried', 'dead or cancelled');
    return toJob(row);
  }

  /** Cancels a queued job so no worker picks it up; running and finished jobs cannot be cancelled. */
  async cancel(id: string): Promise<Job> {
    const now = this.clock.now();
    const row = await this.q
      .updateTable('jobs')
      .set({ state: 'cancelled', finished_at: now, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'queued')
      .returningAll()
      .executeTakeFirst();
    if (!row) throw await this.stateInvalid(id, 'cancelled', 'queued');
    return toJob(row);
  }

  /** Number of jobs in each state, for metrics and `capstan jobs`. */
  async stats(): Promise<JobStats> {
    const rows = await this.q.selectFrom('jobs').select((eb) => ['state', eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
    const out = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as JobStats;
    for (const r of rows) out[r.state] = Number(r.n);
    return out;
  }

  private async stateInvalid(id: string, verb: string, allowed: string): Promise<CapstanError> {
    const job = await this.get(id);
    return new CapstanError('CAPSTAN_QUEUE_JOB_STATE_INVALID', `job ${id} is ${job.state}; only ${allowed} jobs can be ${verb}`, {
      fields: { jobId: id, state: job.state },
    });
  }

  private async leaseLost(jobId: string, workerId: string, via?: Kysely<any>): Promise<CapstanError> {
    const job = await this.get(jobId, via);
    const holder = job.state === 'running' ? `running under worker ${job.leaseOwner}` : job.state;
    return new CapstanError('CAPSTAN_QUEUE_LEASE_LOST', `worker ${workerId} no longer holds the lease of job ${jobId} (it is ${holder})`, {
      fields: { jobId, state: job.state },
    });
  }
}
