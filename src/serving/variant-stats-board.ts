import { CapstanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { SqlVariantStatsStore } from './sql-variant-stats-store.js';
import type { VariantStatsRecorder } from './variant-stats-recorder.js';
import { LATENCY_BUCKETS } from './latency-histogram.js';
import { summarize, type EndpointStats, type VariantStatsOptions } from './variant-stats.js';

/** Options of the statistics board; every field has a default. */
export interface VariantStatsBoardOptions {
  /** How long time buckets are kept in the database; default 3600000 ms (1 h). Also the longest window. */
  retentionMs?: number;
  /** Shortest time between two prunes; default 60000 ms. */
  pruneEveryMs?: number;
}

const DEFAULT_WINDOW_MS = 300_000;

/**
 * This process's side of the shared per-variant statistics: flushes the in-memory counts into the
 * metadata DB (where every process's counts add up), prunes old buckets, and reads the sums back.
 */
export class VariantStatsBoard {
  private lastPrune = 0;
  private flushing: Promise<void> = Promise.resolve();
  readonly retentionMs: number;
  private readonly pruneEveryMs: number;

  constructor(
    readonly recorder: VariantStatsRecorder,
    private readonly store: SqlVariantStatsStore,
    private readonly logger: Logger,
    options: VariantStatsBoardOptions = {},
  ) {
    this.retentionMs = options.retentionMs ?? 3_600_000;
    this.pruneEveryMs = options.pruneEveryMs ?? 60_000;
  }

  /** Writes what was counted since the last flush; counts a failed write could not store are kept for the next. Flushes run one at a time. */
  flush(): Promise<void> {
    const next = this.flushing.then(() => this.flushOnce());
    this.flushing = next.catch(() => {});
    return next;
  }

  private async flushOnce(): Promise<void> {
    const cells = this.recorder.drain();
    try {
      await this.store.add(cells);
    } catch (err) {
      this.recorder.restore(cells);
      throw err;
    }
    const now = Date.now();
    if (now - this.lastPrune >= this.pruneEveryMs) {
      this.lastPrune = now;
      await this.store.prune(now - this.retentionMs);
    }
  }

  /** Flush for a timer: logs instead of throwing. */
  async flushQuietly(): Promise<void> {
    await this.flush().catch((err) => this.logger.warn({ err }, 'could not store the per-variant statistics; keeping them for the next flush'));
  }

  /** The endpoint's per-variant statistics over the window, from every process; `configured` lists the variants in service, in order. */
  async read(endpoint: string, configured: readonly string[], options: VariantStatsOptions = {}): Promise<EndpointStats> {
    const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    if (typeof windowMs !== 'number' || !Number.isInteger(windowMs) || windowMs < 1000 || windowMs > this.retentionMs) {
      throw new CapstanError('CAPSTAN_SERVING_STATS_WINDOW_INVALID', `windowMs must be an integer from 1000 to ${this.retentionMs} (the retention)`, { fields: { windowMs: String(windowMs), maxWindowMs: this.retentionMs } });
    }
    // This process's own latest counts first, so a caller sees the requests it just made here.
    await this.flushQuietly();
    const now = Date.now();
    const bucketMs = this.recorder.bucketMs;
    const from = Math.floor((now - windowMs) / bucketMs) * bucketMs;
    const totals = new Map((await this.store.totals(endpoint, from)).map((t) => [t.variant, t]));
    const names = [...configured, ...[...totals.keys()].filter((n) => !configured.includes(n))];
    const variants = names.map((n) => summarize(totals.get(n) ?? { variant: n, requests: 0, errors4xx: 0, errors5xx: 0, modelErrors: 0, latencySumMs: 0, latency: new Array<number>(LATENCY_BUCKETS).fill(0) }));
    return { endpoint, windowMs, from: new Date(from).toISOString(), to: new Date(now).toISOString(), variants };
  }
}
