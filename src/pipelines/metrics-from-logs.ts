import { compileUserRegex, type UserRegex } from '../core/user-regex.js';
import type { MetricDefinition } from './definition.js';

/** One metric value seen in a log line. */
export interface MetricPoint {
  name: string;
  value: number;
  /** Index of the value among this metric's values (an epoch counter for per-epoch logs). */
  step: number;
  at: number;
}

/**
 * Applies `metric_definitions` to log lines as they arrive: each regex's first capture group is
 * parsed as a number. Regexes run on RE2 (linear time), since each one sees every line a step prints. The latest value of each metric is the step's metric; the series is kept for
 * charts. A definition that never matched is reported as a warning at the end, not a failure.
 */
export class MetricsFromLogs {
  private readonly compiled: { name: string; re: UserRegex }[];
  private readonly series = new Map<string, MetricPoint[]>();

  constructor(definitions: MetricDefinition[], private readonly onPoint?: (p: MetricPoint) => void) {
    this.compiled = definitions.map((d) => ({ name: d.name, re: compileUserRegex(d.regex, `metric "${d.name}" regex`) }));
  }

  /** Feeds one line. */
  line(text: string, at = Date.now()): void {
    for (const { name, re } of this.compiled) {
      const m = re.firstGroup(text);
      if (m === undefined) continue;
      const value = Number.parseFloat(m.trim());
      if (!Number.isFinite(value)) continue;
      let s = this.series.get(name);
      if (!s) this.series.set(name, (s = []));
      const point = { name, value, step: s.length, at };
      s.push(point);
      this.onPoint?.(point);
    }
  }

  /** The last value of every metric that matched. */
  latest(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, s] of this.series) out[name] = s[s.length - 1].value;
    return out;
  }

  /** Every matched value, per metric. */
  all(): Record<string, number[]> {
    return Object.fromEntries([...this.series].map(([n, s]) => [n, s.map((p) => p.value)]));
  }

  /** Warnings for definitions that never matched a line. */
  warnings(): string[] {
    return this.compiled.filter((c) => !this.series.has(c.name)).map((c) => `metric "${c.name}": regex ${JSON.stringify(c.re.source)} never matched the log`);
  }
}
