import { CapstanError } from '../core/errors.js';
import type { MetricPoint } from './registry-service.js';

/** Most points one `logMetrics` call accepts. */
export const MAX_METRIC_BATCH = 10_000;

const KEY_PATTERN = /^[A-Za-z0-9_.@/:\- ]{1,250}$/;

function invalid(code: 'CAPSTAN_REQUEST_INVALID' | 'CAPSTAN_REGISTRY_METRIC_INVALID', detail: string): CapstanError {
  return new CapstanError(code, detail);
}

/** Checks a param, tag or metric key: 1-250 characters of letters, digits and `_ . @ / : -` or space. */
export function assertKey(key: unknown, what: string): string {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw invalid(what === 'metric' ? 'CAPSTAN_REGISTRY_METRIC_INVALID' : 'CAPSTAN_REQUEST_INVALID', `${what} key ${JSON.stringify(String(key).slice(0, 80))} is not valid: use 1-250 characters of letters, digits, '_', '.', '@', '/', ':', '-' or space`);
  }
  return key;
}

/** Normalises a map of params or tags to strings, checking keys and value lengths. */
export function stringMap(input: Record<string, unknown> | undefined, what: string, maxValue = 6000): Record<string, string> {
  const out: Record<string, string> = {};
  if (input === undefined || input === null) return out;
  if (typeof input !== 'object' || Array.isArray(input)) throw invalid('CAPSTAN_REQUEST_INVALID', `${what}s must be an object of key → value`);
  for (const [k, v] of Object.entries(input)) {
    assertKey(k, what);
    if (v === null || v === undefined || typeof v === 'object') throw invalid('CAPSTAN_REQUEST_INVALID', `${what} ${k} must be a string, number or boolean`);
    const s = String(v);
    if (s.length > maxValue) throw invalid('CAPSTAN_REQUEST_INVALID', `${what} ${k} is longer than ${maxValue} characters`);
    out[k] = s;
  }
  return out;
}

/** Checks a map of metric name → finite number. */
export function metricMap(input: Record<string, unknown> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (input === undefined || input === null) return out;
  if (typeof input !== 'object' || Array.isArray(input)) throw invalid('CAPSTAN_REGISTRY_METRIC_INVALID', 'metrics must be an object of name → number');
  for (const [k, v] of Object.entries(input)) {
    assertKey(k, 'metric');
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid('CAPSTAN_REGISTRY_METRIC_INVALID', `metric ${k} must be a finite number`);
    out[k] = v;
  }
  return out;
}

/** Checks a batch of metric points and fills step (0) and timestamp (now). */
export function metricPoints(points: unknown, now: number): Required<MetricPoint>[] {
  if (!Array.isArray(points) || points.length === 0) throw invalid('CAPSTAN_REGISTRY_METRIC_INVALID', 'send at least one metric point');
  if (points.length > MAX_METRIC_BATCH) throw invalid('CAPSTAN_REGISTRY_METRIC_INVALID', `send at most ${MAX_METRIC_BATCH} metric points per call, not ${points.length}`);
  return points.map((p, i) => {
    const point = (p ?? {}) as MetricPoint;
    assertKey(point.key, 'metric');
    if (typeof point.value !== 'number' || !Number.isFinite(point.value)) throw invalid('CAPSTAN_REGISTRY_METRIC_INVALID', `point ${i} (${point.key}): value must be a finite number`);
    const step = point.step ?? 0;
    if (!Number.isSafeInteger(step) || step < 0) throw invalid('CAPSTAN_REGISTRY_METRIC_INVALID', `point ${i} (${point.key}): step must be a non-negative integer`);
    const timestamp = point.timestamp ?? now;
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw invalid('CAPSTAN_REGISTRY_METRIC_INVALID', `point ${i} (${point.key}): timestamp must be epoch milliseconds`);
    return { key: point.key, value: point.value, step, timestamp };
  });
}

/** True when point `a` is later than `b`: a higher step, or the same step and a later timestamp. */
export function isLater(a: { step: number; timestamp: number }, b: { step: number; timestamp: number }): boolean {
  return a.step > b.step || (a.step === b.step && a.timestamp >= b.timestamp);
}
