import type { CapstanError } from '../core/errors.js';

/** Autoscaling of one variant as a user writes it; every field has a default. */
export interface ScalingInput {
  /** Fewest workers; 0 lets the variant scale to zero after `idleTimeoutMs`; default 1. */
  min?: number;
  /** Most workers; default the larger of `min` and 4. */
  max?: number;
  /** In-flight requests per worker the scaler aims for; default 4. */
  targetInFlight?: number;
  /** With `min: 0`, no request for this long stops the last worker; default 300000 ms. */
  idleTimeoutMs?: number;
  /** Least time between two scale-ups; default 1000 ms. */
  scaleUpCooldownMs?: number;
  /** Concurrency must stay below the current size this long before a worker is removed; default 30000 ms. */
  scaleDownCooldownMs?: number;
  /** Requests that may wait while a worker starts from zero; past it they answer 503 with Retry-After; default 100. */
  queueSize?: number;
}

/** Autoscaling with every default filled in. */
export interface ScalingConfig {
  min: number;
  max: number;
  targetInFlight: number;
  idleTimeoutMs: number;
  scaleUpCooldownMs: number;
  scaleDownCooldownMs: number;
  queueSize: number;
}

type Invalid = (detail: string, field?: string) => CapstanError;

/** Validates a variant's `scaling` block; min > max is refused naming both. */
export function compileScaling(value: unknown, at: string, invalid: Invalid): ScalingConfig {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${at} must be an object (min, max, targetInFlight, ...)`, at);
  const s = value as ScalingInput;
  const int = (v: unknown, field: string, lo: number, hi: number, fallback: number): number => {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw invalid(`${at}.${field} must be an integer from ${lo} to ${hi}`, `${at}.${field}`);
    return v;
  };
  const min = int(s.min, 'min', 0, 32, 1);
  const max = int(s.max, 'max', 1, 32, Math.max(min, 4));
  if (min > max) throw invalid(`${at}.min (${min}) is greater than ${at}.max (${max})`, `${at}.min`);
  return {
    min,
    max,
    targetInFlight: int(s.targetInFlight, 'targetInFlight', 1, 10_000, 4),
    idleTimeoutMs: int(s.idleTimeoutMs, 'idleTimeoutMs', 100, 86_400_000, 300_000),
    scaleUpCooldownMs: int(s.scaleUpCooldownMs, 'scaleUpCooldownMs', 0, 3_600_000, 1000),
    scaleDownCooldownMs: int(s.scaleDownCooldownMs, 'scaleDownCooldownMs', 0, 3_600_000, 30_000),
    queueSize: int(s.queueSize, 'queueSize', 0, 100_000, 100),
  };
}
