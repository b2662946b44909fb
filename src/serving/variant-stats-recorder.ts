import { isCapstanError } from '../core/errors.js';
import { LATENCY_BUCKETS, latencyBucket } from './latency-histogram.js';

/** How a request ended, for the statistics. */
export const Outcome = { Ok: 0, ClientError: 1, ServerError: 2, ModelError: 3 } as const;

/** One outcome class. */
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** Codes that mean the model (not the request, not the gateway) failed. */
const MODEL_FAILURES = new Set(['CAPSTAN_SERVING_MODEL_ERROR', 'CAPSTAN_SERVING_MODEL_CRASHED', 'CAPSTAN_SERVING_MODEL_TIMEOUT', 'CAPSTAN_SERVING_UPSTREAM_ERROR']);

/** The outcome class of a failed request: a model failure, another 5xx, or the caller's 4xx. */
export function outcomeOf(err: unknown): Outcome {
  if (!isCapstanError(err)) return Outcome.ServerError;
  if (MODEL_FAILURES.has(err.code)) return Outcome.ModelError;
  return err.status >= 500 ? Outcome.ServerError : Outcome.ClientError;
}

/** Counts of one variant in one time bucket, from one process, since the last flush. */
export interface StatsCell {
  endpoint: string;
  variant: string;
  /** Start of the time bucket, ms since the epoch. */
  bucketStart: number;
  requests: number;
  errors4xx: number;
  /** Every 5xx, model failures included. */
  errors5xx: number;
  /** The 5xx the model caused (error, crash, timeout, upstream failure). */
  modelErrors: number;
  latencySumMs: number;
  /** Requests per latency bucket (`LATENCY_BOUNDS_MS`). */
  latency: Uint32Array;
}

function emptyCell(endpoint: string, variant: string, bucketStart: number): StatsCell {
  return { endpoint, variant, bucketStart, requests: 0, errors4xx: 0, errors5xx: 0, modelErrors: 0, latencySumMs: 0, latency: new Uint32Array(LATENCY_BUCKETS) };
}

/**
 * One variant's counters in this process, bound once per variant so a request does a clock read,
 * a few additions and a short bucket scan — no lookup, no allocation (a new cell every time bucket).
 */
export class VariantStatsCounter {
  private current: StatsCell;
  /** Cells of earlier time buckets, waiting for the next flush. */
  private done: StatsCell[] = [];

  constructor(
    readonly endpoint: string,
    readonly variant: string,
    private readonly bucketMs: number,
  ) {
    this.current = emptyCell(endpoint, variant, -1);
  }

  /** Counts one request that took `ms` and ended with `outcome`. */
  record(ms: number, outcome: Outcome): void {
    const now = Date.now();
    let c = this.current;
    if (now < c.bucketStart || now >= c.bucketStart + this.bucketMs) c = this.roll(now - (now % this.bucketMs));
    c.requests++;
    if (outcome !== Outcome.Ok) {
      if (outcome === Outcome.ClientError) c.errors4xx++;
      else {
        c.errors5xx++;
        if (outcome === Outcome.ModelError) c.modelErrors++;
      }
    }
    c.latencySumMs += ms;
    c.latency[latencyBucket(ms)]++;
  }

  private roll(bucketStart: number): StatsCell {
    if (this.current.requests > 0) this.done.push(this.current);
    this.current = emptyCell(this.endpoint, this.variant, bucketStart);
    return this.current;
  }

  /** Hands over everything counted since the last call and starts again from zero. */
  drain(out: StatsCell[]): void {
    for (const c of this.done) out.push(c);
    this.done = [];
    if (this.current.requests > 0) {
      out.push(this.current);
      this.current = emptyCell(this.endpoint, this.variant, this.current.bucketStart);
    }
  }
}

/** Adds `from` into `into` (same endpoint, variant and bucket). */
export function mergeCell(into: StatsCell, from: StatsCell): void {
  into.requests += from.requests;
  into.errors4xx += from.errors4xx;
  into.errors5xx += from.errors5xx;
  into.modelErrors += from.modelErrors;
  into.latencySumMs += from.latencySumMs;
  for (let i = 0; i < into.latency.length; i++) into.latency[i] += from.latency[i];
}

/** Cells kept for a retry when the database is unavailable; older counts are dropped beyond it. */
const MAX_RETAINED_CELLS = 10_000;

/**
 * The per-variant request statistics of this process, by endpoint, variant and time bucket, until
 * they are flushed to the metadata database where every process's counts add up.
 */
export class VariantStatsRecorder {
  private readonly counters = new Map<string, VariantStatsCounter>();
  private retry: StatsCell[] = [];

  /** `bucketMs`: width of a time bucket; default 10000 ms. */
  constructor(readonly bucketMs = 10_000) {}

  /** The counter of one variant; the same object for the same endpoint and variant. */
  forVariant(endpoint: string, variant: string): VariantStatsCounter {
    const key = `${endpoint}\u0000${variant}`;
    let c = this.counters.get(key);
    if (!c) {
      c = new VariantStatsCounter(endpoint, variant, this.bucketMs);
      this.counters.set(key, c);
    }
    return c;
  }

  /** Everything counted since the last drain, one cell per endpoint, variant and time bucket. */
  drain(): StatsCell[] {
    const raw: StatsCell[] = this.retry;
    this.retry = [];
    for (const c of this.counters.values()) c.drain(raw);
    const byKey = new Map<string, StatsCell>();
    for (const cell of raw) {
      const key = `${cell.endpoint}\u0000${cell.variant}\u0000${cell.bucketStart}`;
      const seen = byKey.get(key);
      if (seen) mergeCell(seen, cell);
      else byKey.set(key, cell);
    }
    return [...byKey.values()];
  }

  /** Puts back cells a flush could not write, so the next flush tries again. */
  restore(cells: StatsCell[]): void {
    this.retry = [...cells, ...this.retry].slice(-MAX_RETAINED_CELLS);
  }

  /** Stops keeping counters for a variant no longer served here (after its last drain). */
  forget(endpoint: string, variant: string): void {
    const key = `${endpoint}\u0000${variant}`;
    const c = this.counters.get(key);
    if (!c) return;
    const left: StatsCell[] = [];
    c.drain(left);
    if (left.length > 0) this.restore(left);
    this.counters.delete(key);
  }
}
