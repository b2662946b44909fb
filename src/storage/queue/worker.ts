import { isCapstanError, isRetryable } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { BackgroundService } from '../../core/background-service.js';
import type { Job, JobContext, JobHandler } from './job.js';
import type { JobQueue } from './job-queue.js';
import { NonRetryableError } from './non-retryable-error.js';

/** Options for a queue worker; everything but `queue` and `handlers` has a default. */
export interface WorkerOptions {
  queue: JobQueue;
  /** Handlers by job type. A leased job of another type goes to `dead`. */
  handlers: ReadonlyMap<string, JobHandler>;
  /** Unique worker id, recorded as the lease owner; default a new `wrk_…` id. */
  id?: string;
  /** Queues to take jobs from; default all. */
  queues?: string[];
  /** Jobs run at once; default `queue.settings.concurrency`. */
  concurrency?: number;
  /** Idle poll interval in ms; default `queue.settings.pollMs`. */
  pollMs?: number;
  /** Heartbeat interval in ms; default `queue.settings.heartbeatMs`. */
  heartbeatMs?: number;
  /** Lease length in ms; default `queue.settings.leaseMs`. */
  leaseMs?: number;
  /** How long stop() waits for running jobs before aborting them and releasing their leases; default 30000. */
  graceMs?: number;
  /** Default: silent. */
  logger?: Logger;
}

/** Counters of what a worker did since it started. */
export interface WorkerCounters {
  succeeded: number;
  retried: number;
  dead: number;
  /** Attempts whose lease was lost, released or could not be recorded. */
  abandoned: number;
}

type ResolvedOptions = Required<Omit<WorkerOptions, 'queues'>> & { queues?: string[] };

/** One leased job being executed. */
interface Run {
  job: Job;
  controller: AbortController;
  /** Set when the lease is gone (lost or released): the outcome must not be recorded. */
  lost: boolean;
  beating?: Promise<void>;
  done: Promise<void>;
}

/** Validates worker options and fills defaults from the queue's settings. */
export function compileWorkerOptions(options: WorkerOptions): ResolvedOptions {
  const s = options.queue.settings;
  const resolved: ResolvedOptions = {
    queue: options.queue,
    handlers: options.handlers,
    id: options.id ?? newId('wrk'),
    queues: options.queues,
    concurrency: options.concurrency ?? s.concurrency,
    pollMs: options.pollMs ?? s.pollMs,
    heartbeatMs: options.heartbeatMs ?? s.heartbeatMs,
    leaseMs: options.leaseMs ?? s.leaseMs,
    graceMs: options.graceMs ?? 30_000,
    logger: options.logger ?? silentLogger(),
  };
  for (const k of ['concurrency', 'pollMs', 'heartbeatMs', 'leaseMs'] as const) {
    if (!Number.isSafeInteger(resolved[k]) || resolved[k] < 1) throw new RangeError(`worker ${k} must be a positive integer`);
  }
  if (!Number.isSafeInteger(resolved.graceMs) || resolved.graceMs < 0) throw new RangeError('worker graceMs must be an integer >= 0');
  if (resolved.heartbeatMs >= resolved.leaseMs) throw new RangeError('worker heartbeatMs must be shorter than leaseMs');
  return resolved;
}

/**
 * A queue worker: leases jobs in batches up to its free slots, runs them with their handlers,
 * heartbeats each lease, and records the outcome. It polls only when idle (every `pollMs`), and
 * wakes early when half of its slots free up. A handler whose lease is lost sees its signal abort
 * and its outcome is discarded, since another worker now owns the job.
 */
export class Worker implements BackgroundService {
  readonly name = 'queue-worker';
  readonly id: string;
  private readonly o: ResolvedOptions;
  private readonly runs = new Map<string, Run>();
  private readonly counters: WorkerCounters = { succeeded: 0, retried: 0, dead: 0, abandoned: 0 };
  private loop?: Promise<void>;
  private stopping = false;
  private wake?: () => void;

  constructor(options: WorkerOptions) {
    this.o = compileWorkerOptions(options);
    this.id = this.o.id;
  }

  /** What this worker has done so far. */
  get stats(): Readonly<WorkerCounters> & { running: number } {
    return { ...this.counters, running: this.runs.size };
  }

  /** Starts leasing; resolves at once, the loop runs in the background. */
  async start(): Promise<void> {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.poll();
    this.o.logger.info({ worker: this.id, queues: this.o.queues ?? 'all', concurrency: this.o.concurrency }, 'queue worker started');
  }

  /**
   * Stops leasing, waits up to `graceMs` for running jobs, then aborts the rest and puts their jobs
   * back in the queue (without spending an attempt) so other workers take them over at once.
   */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.wake?.();
    await this.loop;
    if (this.runs.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.o.graceMs)));
      await Promise.race([Promise.allSettled([...this.runs.values()].map((r) => r.done)), grace]);
      clearTimeout(timer);
    }
    for (const run of this.runs.values()) {
      run.lost = true;
      run.controller.abort(new Error('the worker is stopping'));
    }
    try {
      const released = await this.o.queue.releaseLeases(this.id);
      if (released > 0) this.o.logger.warn({ worker: this.id, released }, 'released the leases of unfinished jobs');
    } catch (err) {
      this.o.logger.error({ err, worker: this.id }, 'could not release leases; they will expire');
    }
    this.loop = undefined;
    this.o.logger.info({ worker: this.id, ...this.counters }, 'queue worker stopped');
  }

  private async poll(): Promise<void> {
    const { queue, concurrency, leaseMs, queues } = this.o;
    while (!this.stopping) {
      const free = concurrency - this.runs.size;
      let leased = 0;
      if (free > 0) {
        try {
          const jobs = await queue.lease(this.id, { queues, limit: free, leaseMs });
          for (const job of jobs) this.launch(job);
          leased = jobs.length;
        } catch (err) {
          this.o.logger.error({ err, worker: this.id }, 'leasing jobs failed; retrying after the poll interval');
        }
      }
      // A full batch means more jobs may be ready; otherwise wait for the poll interval or free slots.
      if (leased > 0 && leased === free) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.o.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private launch(job: Job): void {
    const previous = this.runs.get(job.id);
    if (previous && !previous.lost) {
      // Our own lease had expired (a stalled event loop) and we leased the job again before anyone else:
      // the execution still running holds the new lease, so a second one would only run it twice here.
      this.o.logger.warn({ worker: this.id, jobId: job.id, attempts: job.attempts }, 'lease expired and was renewed by this worker; the running execution continues');
      return;
    }
    const run: Run = { job, controller: new AbortController(), lost: false, done: Promise.resolve() };
    this.runs.set(job.id, run);
    run.done = this.execute(run).finally(() => {
      if (this.runs.get(job.id) === run) this.runs.delete(job.id);
      // Waking at half capacity batches leases instead of one query per finished job.
      if (this.runs.size <= this.o.concurrency / 2) this.wake?.();
    });
  }

  private async execute(run: Run): Promise<void> {
    const { job } = run;
    const { queue, logger } = this.o;
    const handler = this.o.handlers.get(job.type);
    if (!handler) {
      const known = [...this.o.handlers.keys()].sort().join(', ') || 'none';
      const error = new NonRetryableError(`no handler for job type "${job.type}" in worker ${this.id} (it handles: ${known})`);
      await this.record(run, () => queue.fail(job.id, this.id, error, { retryable: false }));
      return;
    }
    const timer = setInterval(() => void this.beat(run).catch(() => {}), this.o.heartbeatMs);
    const context: JobContext = {
      signal: run.controller.signal,
      workerId: this.id,
      heartbeat: () => this.beat(run),
      assertLease: (into) => this.o.queue.assertLease(job.id, this.id, into),
    };
    let outcome: { ok: true; result: unknown } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, result: await handler(job, context) };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      clearInterval(timer);
    }
    if (run.lost) {
      this.counters.abandoned++;
      logger.warn({ worker: this.id, jobId: job.id, type: job.type }, 'job finished after its lease was lost; outcome discarded');
      return;
    }
    if (outcome.ok) {
      const result = outcome.result;
      await this.record(run, () => queue.ack(job.id, this.id, result));
    } else {
      const error = outcome.error;
      logger.debug({ worker: this.id, jobId: job.id, type: job.type, err: error }, 'job attempt failed');
      await this.record(run, () => queue.fail(job.id, this.id, error, { retryable: isRetryable(error) }));
    }
  }

  /** Writes an attempt's outcome; a lost lease or a DB failure leaves the job to its lease expiry. */
  private async record(run: Run, write: () => Promise<Job>): Promise<void> {
    try {
      const after = await write();
      if (after.state === 'succeeded') this.counters.succeeded++;
      else if (after.state === 'dead') {
        this.counters.dead++;
        this.o.logger.warn({ worker: this.id, jobId: after.id, type: after.type, error: after.lastError }, 'job is dead');
      } else this.counters.retried++;
    } catch (err) {
      this.counters.abandoned++;
      const level = isCapstanError(err, 'CAPSTAN_QUEUE_LEASE_LOST') ? 'warn' : 'error';
      this.o.logger[level]({ err, worker: this.id, jobId: run.job.id }, 'could not record the job outcome; the job will run again after its lease expires');
    }
  }

  /** Extends the lease; on loss, aborts the handler's signal. Concurrent calls share one round trip. */
  private beat(run: Run): Promise<void> {
    if (run.lost) return Promise.reject(run.controller.signal.reason);
    run.beating ??= this.o.queue
      .heartbeat(run.job.id, this.id, this.o.leaseMs)
      .catch((err) => {
        if (isCapstanError(err, 'CAPSTAN_QUEUE_LEASE_LOST') || isCapstanError(err, 'CAPSTAN_QUEUE_JOB_NOT_FOUND')) {
          run.lost = true;
          run.controller.abort(err);
          this.o.logger.warn({ worker: this.id, jobId: run.job.id }, 'lease lost; aborting the handler');
        } else {
          this.o.logger.warn({ err, worker: this.id, jobId: run.job.id }, 'heartbeat failed; will try again');
        }
        throw err;
      })
      .finally(() => {
        run.beating = undefined;
      });
    return run.beating;
  }
}
