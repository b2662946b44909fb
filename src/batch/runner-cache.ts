import type { ModelRunner, ServingContext } from '../serving/index.js';
import type { BatchJobOptions } from './batch-options.js';

interface Entry {
  runner: Promise<ModelRunner>;
  users: number;
  timer?: NodeJS.Timeout;
}

/** Rows the dynamic batcher may merge into one model call under MultiRecord. */
const MULTI_RECORD_BATCH_ROWS = 4096;

/**
 * Each batch job's own pool of model worker threads in this process, shared by the job's shards that
 * run here at once and closed when the job ends or stays idle for `idleMs`.
 */
export class RunnerCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly serving: () => ServingContext,
    private readonly idleMs = 15_000,
  ) {}

  /** Runs `fn` with the job's runner, loading the model on first use. */
  async with<R>(jobId: string, modelRef: string, options: BatchJobOptions, fn: (runner: ModelRunner) => Promise<R>): Promise<R> {
    let entry = this.entries.get(jobId);
    if (!entry) {
      const runner = this.serving().openModel(modelRef, {
        instances: options.concurrency,
        maxBatchSize: options.strategy === 'MultiRecord' ? MULTI_RECORD_BATCH_ROWS : 1,
        timeoutMs: options.recordTimeoutMs,
      });
      entry = { runner, users: 0 };
      this.entries.set(jobId, entry);
      runner.catch(() => this.entries.get(jobId) === entry && this.entries.delete(jobId));
    }
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.users++;
    try {
      return await fn(await entry.runner);
    } finally {
      entry.users--;
      if (entry.users === 0 && this.entries.get(jobId) === entry) {
        entry.timer = setTimeout(() => void this.release(jobId), this.idleMs);
        entry.timer.unref();
      }
    }
  }

  /** Closes a job's runner now (the job ended). */
  async release(jobId: string): Promise<void> {
    const entry = this.entries.get(jobId);
    if (!entry || entry.users > 0) return;
    this.entries.delete(jobId);
    if (entry.timer) clearTimeout(entry.timer);
    await entry.runner.then((r) => r.close()).catch(() => {});
  }

  /** Closes every runner (the platform closes). */
  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map(async (e) => {
      if (e.timer) clearTimeout(e.timer);
      await e.runner.then((r) => r.close()).catch(() => {});
    }));
  }
}
