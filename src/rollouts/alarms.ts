import { CapstanError } from '../core/errors.js';
import { ExpressionLanguage, type CompiledExpression } from '../core/expressions.js';
import { histogramTotal, ksOfHistograms, psiOfHistograms } from './score-histogram.js';

/** The alarm kinds: fixed thresholds on green, thresholds relative to blue, or any CEL condition over both. */
export const ALARM_TYPES = ['error-rate', 'p99', 'cel', 'quality'] as const;

/** One alarm kind. */
export type AlarmType = (typeof ALARM_TYPES)[number];

/** An alarm as a user writes it. */
export interface AlarmInput {
  /** Shown in the history; default the type and threshold (`error-rate>0.05`). */
  name?: string;
  type: AlarmType;
  /**
   * `error-rate`: a fraction 0-1 of 5xx answers; `p99`: milliseconds. With `relativeToBlue`, the
   * amount green may be above blue in the same window. Required for those two types.
   */
  threshold?: number;
  /** Compare with blue's value in the same window rather than a fixed limit; default false. */
  relativeToBlue?: boolean;
  /** `cel`: a condition over `green` and `blue` (maps of requests, errors5xx, errors4xx, errorRate, p50, p95, p99, meanMs) that is true when the alarm fires. */
  expression?: string;
  /** `quality`: `psi` (population stability index of green's output scores against blue's) or `ks` (Kolmogorov-Smirnov statistic); default psi. */
  statistic?: 'psi' | 'ks';
  /** The alarm is not evaluated until green served this many requests in the window; default 10. */
  minRequests?: number;
  /** How far back the statistics reach, 1-3600 s; default 30. */
  windowSeconds?: number;
}

/** The window statistics of one side (blue or green), summed over its variants and every serving process. */
export interface SideWindow {
  requests: number;
  errors5xx: number;
  errors4xx: number;
  errorRate: number;
  /** Latencies in ms; 0 without requests. */
  p50: number;
  p95: number;
  p99: number;
  meanMs: number;
  /** Histogram of the output scores (`score`, or the mean of `scores`) answered in the window by every serving process (`score-histogram.ts` buckets), for quality alarms. */
  scores?: ReadonlyMap<number, number>;
}

/** One alarm's evaluation. */
export interface AlarmEvaluation {
  alarm: string;
  /** `true` fired, `false` held, `null` skipped (too few requests). */
  fired: boolean | null;
  /** The compared value (green's, or green minus blue), when there is one. */
  value?: number;
  threshold?: number;
  green: { requests: number; errorRate: number; p99: number };
  blue: { requests: number; errorRate: number; p99: number };
}

/** A compiled alarm. */
export interface Alarm {
  readonly name: string;
  readonly windowSeconds: number;
  /** True when the alarm compares output scores (the driver collects them then). */
  readonly needsScores: boolean;
  evaluate(green: SideWindow, blue: SideWindow): AlarmEvaluation;
}

const language = new ExpressionLanguage({ variables: { green: 'map<string, double>', blue: 'map<string, double>' } });

function invalid(detail: string, index: number, field: string): CapstanError {
  return new CapstanError('CAPSTAN_ROLLOUT_ALARM_INVALID', detail, { fields: { field: `alarms[${index}].${field}` } });
}

function brief(s: SideWindow) {
  return { requests: s.requests, errorRate: s.errorRate, p99: s.p99 };
}

/** Compiles every alarm (CEL included) so a deployment with a broken alarm is refused before anything changes. */
export function compileAlarms(inputs: readonly AlarmInput[]): Alarm[] {
  return inputs.map((a, i) => {
    if (!a || typeof a !== 'object') throw invalid(`alarms[${i}] must be an object`, i, 'type');
    if (!(ALARM_TYPES as readonly string[]).includes(a.type)) throw invalid(`alarms[${i}].type must be one of ${ALARM_TYPES.join(', ')}, got ${JSON.stringify(a.type)}`, i, 'type');
    const minRequests = a.minRequests ?? 10;
    if (!Number.isInteger(minRequests) || minRequests < 0) throw invalid(`alarms[${i}].minRequests must be an integer >= 0`, i, 'minRequests');
    const windowSeconds = a.windowSeconds ?? 30;
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > 3600) throw invalid(`alarms[${i}].windowSeconds must be an integer from 1 to 3600`, i, 'windowSeconds');
    if (a.type === 'cel') {
      if (typeof a.expression !== 'string' || !a.expression.trim()) throw invalid(`alarms[${i}].expression must be a CEL condition, e.g. green.errorRate > 0.05`, i, 'expression');
      const compiled: CompiledExpression = language.compile(a.expression, 'CAPSTAN_ROLLOUT_ALARM_INVALID', `alarms[${i}].expression`);
      if (compiled.type !== 'bool' && compiled.type !== 'dyn') throw invalid(`alarms[${i}].expression must be a condition (bool), not ${compiled.type}`, i, 'expression');
      const name = a.name ?? a.expression;
      return {
        name,
        windowSeconds,
        needsScores: false,
        evaluate(green, blue) {
          const base = { alarm: name, green: brief(green), blue: brief(blue) };
          if (green.requests < minRequests) return { ...base, fired: null };
          const { scores: _g, ...greenValues } = green;
          const { scores: _b, ...blueValues } = blue;
          const out = compiled.evaluate({ green: greenValues, blue: blueValues }, 'CAPSTAN_ROLLOUT_ALARM_INVALID', `alarm ${name}`);
          return { ...base, fired: out === true };
        },
      };
    }
    if (typeof a.threshold !== 'number' || !Number.isFinite(a.threshold) || a.threshold < 0) throw invalid(`alarms[${i}].threshold must be a number >= 0`, i, 'threshold');
    if (a.type === 'quality') return qualityAlarm(a, i, a.threshold, minRequests, windowSeconds);
    if (a.type === 'error-rate' && a.threshold > 1) throw invalid(`alarms[${i}].threshold of an error-rate alarm is a fraction from 0 to 1`, i, 'threshold');
    const threshold = a.threshold;
    const relative = a.relativeToBlue === true;
    const pick = (s: SideWindow) => (a.type === 'error-rate' ? s.errorRate : s.p99);
    const name = a.name ?? `${a.type}>${relative ? 'blue+' : ''}${threshold}`;
    return {
      name,
      windowSeconds,
      needsScores: false,
      evaluate(green, blue) {
        const base = { alarm: name, threshold, green: brief(green), blue: brief(blue) };
        // A relative alarm needs blue traffic in the same window too, or "above blue" means nothing.
        if (green.requests < minRequests || (relative && blue.requests < minRequests)) return { ...base, fired: null };
        const value = relative ? pick(green) - pick(blue) : pick(green);
        return { ...base, value: Math.round(value * 1e6) / 1e6, fired: value > threshold };
      },
    };
  });
}

/** A model-quality alarm: green's output-score distribution against blue's in the same window. */
function qualityAlarm(a: AlarmInput, i: number, threshold: number, minRequests: number, windowSeconds: number): Alarm {
  const statistic = a.statistic ?? 'psi';
  if (statistic !== 'psi' && statistic !== 'ks') throw invalid(`alarms[${i}].statistic must be psi or ks`, i, 'statistic');
  if (statistic === 'ks' && threshold > 1) throw invalid(`alarms[${i}].threshold of a ks alarm is from 0 to 1`, i, 'threshold');
  const name = a.name ?? `quality-${statistic}>${threshold}`;
  return {
    name,
    windowSeconds,
    needsScores: true,
    evaluate(green, blue) {
      const base = { alarm: name, threshold, green: brief(green), blue: brief(blue) };
      const g = green.scores ?? new Map<number, number>();
      const b = blue.scores ?? new Map<number, number>();
      if (histogramTotal(g) < Math.max(minRequests, 1) || histogramTotal(b) < Math.max(minRequests, 1)) return { ...base, fired: null };
      const value = statistic === 'psi' ? psiOfHistograms(b, g) : ksOfHistograms(g, b);
      return { ...base, value: Math.round(value * 1e6) / 1e6, fired: value > threshold };
    },
  };
}
