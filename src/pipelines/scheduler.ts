import { hostname } from 'node:os';
import { sleep } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { newId } from '../core/ids.js';
import type { BackgroundService } from '../core/background-service.js';
import type { ExecutionRecord } from './execution.js';
import type { ExecutionRunner } from './execution-runner.js';
import type { SqlPipelineStore } from './sql-pipeline-store.js';

/** Scheduler options; every field has a default. */
export interface SchedulerOptions {
  /** Lease on a claimed execution; default 30000 ms. A dead scheduler's executions resume after it. */
  leaseMs?: number;
  /** Idle poll for new or orphaned executions; default 500 ms. */
  pollMs?: number;
  /** Executions one scheduler drives at once; default 4. */
  maxExecutions?: number;
}

/**
 * Claims executions (new ones, and running ones whose scheduler stopped renewing its lease) and
 * drives each with an ExecutionRunner. Several schedulers — in several processes on one PostgreSQL
 * — share the work through the lease; see docs/decisions/0004-pipeline-execution-leases.md.
 */
export class PipelineScheduler implements BackgroundService {
  readonly name = 'pipeline-scheduler';
  /** This scheduler's lease owner id. */
  readonly owner = `${hostname()}:${process.pid}:${newId('sched').slice(-8)}`;
  private readonly o: Required<SchedulerOptions>;
  private readonly active = new Map<string, { runner: ExecutionRunner; done: Promise<unknown> }>();
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: () => void = () => {};

  constructor(
    private readonly store: SqlPipelineStore,
    private readonly makeRunner: (owner: string, leaseMs: number) => ExecutionRunner,
    private readonly logger: Logger,
    options: SchedulerOptions = {},
  ) {
    this.o = { leaseMs: options.leaseMs ?? 30_000, pollMs: options.pollMs ?? 500, maxExecutions: options.maxExecutions ?? 4 };
  }

  /** Starts polling for executions. */
  async start(): Promise<void> {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.poll();
  }

  /** Stops claiming, stops driving running executions and releases their leases (steps resume elsewhere). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    for (const a of this.active.values()) a.runner.shutdown();
    await Promise.allSettled([...this.active.values()].map((a) => a.done));
    await this.loop;
    this.loop = undefined;
  }

  /** Asks the poll loop to look for work now (after a new execution was queued). */
  nudge(): void {
    this.wake();
  }

  /**
   * Runs one execution in this process when its lease is free, otherwise waits for whoever holds
   * it; resolves with the finished execution either way.
   */
  async runNow(id: string, pollMs = 250): Promise<ExecutionRecord> {
    for (;;) {
      const running = this.active.get(id);
      if (running) await running.done;
      else if (await this.store.claim(this.owner, this.o.leaseMs, id)) await this.drive(id);
      const exec = await this.store.getExecution(id);
      if (exec.state === 'succeeded' || exec.state === 'failed' || exec.state === 'cancelled') return exec;
      await sleep(pollMs);
    }
  }

  private drive(id: string): Promise<unknown> {
    const runner = this.makeRunner(this.owner, this.o.leaseMs);
    // Operators follow executions in the process log: one line when this process takes one, one when it lets go.
    // The state is read before the runner marks the execution running, so "started" and "resumed" are told apart.
    const done = (async () => {
      const before = await this.store.getExecution(id).catch(() => undefined);
      if (before) this.logger.info({ executionId: id, pipeline: before.pipeline, owner: this.owner }, `pipeline execution ${before.state === 'running' ? 'resumed' : 'started'}: ${before.pipeline} ${id}`);
      const e = await runner.run(id);
      const ended = e.state === 'succeeded' || e.state === 'failed' || e.state === 'cancelled';
      const fields = { executionId: id, pipeline: e.pipeline, state: e.state, ...(e.error ? { error: e.error } : {}) };
      if (ended) this.logger[e.state === 'failed' ? 'warn' : 'info'](fields, `pipeline execution ${e.state}: ${e.pipeline} ${id}${e.error ? ` (${e.error})` : ''}`);
      else this.logger.info(fields, `pipeline execution released: ${e.pipeline} ${id} (another process resumes it)`);
    })()
      .catch((err) => {
        this.logger.error({ err, executionId: id }, 'pipeline execution runner failed; the lease will expire and another scheduler will resume it');
      })
      .finally(() => {
        this.active.delete(id);
        this.wake();
      });
    this.active.set(id, { runner, done });
    return done;
  }

  private async poll(): Promise<void> {
    while (!this.stopping) {
      try {
        while (!this.stopping && this.active.size < this.o.maxExecutions) {
          const id = await this.store.claim(this.owner, this.o.leaseMs, undefined, [...this.active.keys()]);
          if (!id) break;
          void this.drive(id);
        }
      } catch (err) {
        this.logger.warn({ err }, 'pipeline scheduler could not claim executions');
      }
      await Promise.race([sleep(this.o.pollMs), new Promise<void>((r) => (this.wake = r))]);
    }
  }
}
