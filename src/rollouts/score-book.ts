import os from 'node:os';
import type { Logger } from '../core/logger.js';
import { scoreBucket, type ScoreHistogram } from './score-histogram.js';
import type { ScoreCell, SqlScoreStore } from './sql-score-store.js';

/** The score in a model's answer: a `score` number, or the mean of a `scores` list; undefined otherwise. */
export function scoreOf(body: string): number | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return undefined;
  }
  const o = v as { score?: unknown; scores?: unknown };
  if (typeof o?.score === 'number' && Number.isFinite(o.score)) return o.score;
  if (Array.isArray(o?.scores) && o.scores.length > 0 && o.scores.every((x) => typeof x === 'number')) return (o.scores as number[]).reduce((a, b) => a + b, 0) / o.scores.length;
  return undefined;
}

/** Cells kept in memory while the database is unavailable; the oldest go beyond it. */
const MAX_CELLS = 5_000;
/** Score histograms are kept this long in the database: the longest alarm window. */
const RETENTION_MS = 3_600_000;
const PRUNE_EVERY_MS = 60_000;

type Cell = ScoreCell & { dirty: boolean };

/**
 * This process's output-score histograms of the endpoints whose running deployment has a
 * model-quality alarm (nothing is parsed for other endpoints), flushed into the shared table where
 * quality alarms sum every serving process's histograms over their window.
 */
export class ScoreBook {
  private readonly watched = new Set<string>();
  private readonly cells = new Map<string, Cell>();
  private readonly writer = `${os.hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  private flushing: Promise<void> = Promise.resolve();
  private lastPrune = 0;

  /** `bucketMs`: width of a time bucket; default 2000 ms. */
  constructor(
    private readonly store: SqlScoreStore,
    private readonly logger: Logger,
    readonly bucketMs = 2000,
  ) {}

  /** Starts collecting an endpoint's scores. */
  watch(endpoint: string): void {
    this.watched.add(endpoint);
  }

  /** Collects exactly these endpoints' scores from now on (the ones with a running quality alarm). */
  watchOnly(endpoints: Iterable<string>): void {
    const next = new Set(endpoints);
    for (const e of [...this.watched]) if (!next.has(e)) this.watched.delete(e);
    for (const e of next) this.watched.add(e);
  }

  /** True while an endpoint's scores are collected. */
  watching(endpoint: string): boolean {
    return this.watched.has(endpoint);
  }

  /** The invocation listener: counts the score of an answer of a watched endpoint. */
  answered(e: { endpoint: string; variant: string; body: Buffer | string }): void {
    if (!this.watched.has(e.endpoint)) return;
    const score = scoreOf(typeof e.body === 'string' ? e.body : e.body.toString('utf8'));
    if (score === undefined) return;
    const now = Date.now();
    const bucketStart = now - (now % this.bucketMs);
    const key = `${e.endpoint}\u0000${e.variant}\u0000${bucketStart}`;
    let c = this.cells.get(key);
    if (!c) {
      c = { endpoint: e.endpoint, variant: e.variant, bucketStart, counts: new Map(), total: 0, dirty: true };
      this.cells.set(key, c);
      if (this.cells.size > MAX_CELLS) this.cells.delete(this.cells.keys().next().value!);
    }
    const b = scoreBucket(score);
    c.counts.set(b, (c.counts.get(b) ?? 0) + 1);
    c.total++;
    c.dirty = true;
  }

  /** Writes every histogram changed since the last flush (this process's row of each); flushes run one at a time. */
  flush(): Promise<void> {
    const next = this.flushing.then(() => this.flushOnce());
    this.flushing = next.catch(() => {});
    return next;
  }

  private async flushOnce(): Promise<void> {
    const dirty = [...this.cells.values()].filter((c) => c.dirty);
    for (const c of dirty) c.dirty = false;
    try {
      if (dirty.length > 0) await this.store.put(this.writer, dirty);
    } catch (err) {
      for (const c of dirty) c.dirty = true;
      throw err;
    }
    // A finished time bucket that is stored, or an endpoint no longer watched, needs no memory.
    const now = Date.now();
    for (const [key, c] of this.cells) if (!c.dirty && (c.bucketStart + this.bucketMs <= now || !this.watched.has(c.endpoint))) this.cells.delete(key);
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.store.prune(now - RETENTION_MS - this.bucketMs);
    }
  }

  /** Flush for a timer: logs instead of throwing. */
  async flushQuietly(): Promise<void> {
    await this.flush().catch((err) => this.logger.warn({ err }, 'could not store the output-score histograms; keeping them for the next flush'));
  }

  /** The summed score histogram of these variants over every serving process since `since` (ms since the epoch, rounded down to a time bucket). */
  async histogram(endpoint: string, variants: readonly string[], since: number): Promise<ScoreHistogram> {
    await this.flushQuietly();
    return this.store.histogram(endpoint, variants, since - (since % this.bucketMs));
  }
}
