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
 * A log line starting with this word states the step's result (`Final: Epoch=3; HR=…; Loss=…;`): the
 * values the regexes read from it are the step's metrics, and it adds no point to any series. A
 * training that keeps its best epoch prints one, so the step reports that epoch and not the last.
 */
export const FINAL_LINE_PREFIX = 'Final:';

/**
 * Applies `metric_definitions` to log lines as they arrive: each regex's first capture group is
 * parsed as a number. Regexes run on RE2 (linear time), since each one sees every line a step prints.
 * Every ordinary line adds a point to a metric's series (kept for charts); the step's metric is the
 * value of the last `Final:` line, else the series' last value. A definition that never matched is
 * reported as a warning at the end, not a failure.
 */
export class MetricsFromLogs {
  private readonly compiled: { name: string; re: UserRegex }[];
  private readonly series = new Map<string, MetricPoint[]>();
  private readonly final = new Map<string, number>();

  constructor(definitions: MetricDefinition[], private readonly onPoint?: (p: MetricPoint) => void) {
    this.compiled = definitions.map((d) => ({ name: d.name, re: compileUserRegex(d.regex, `metric "${d.name}" regex`) }));
  }

  /** Feeds one line. */
  line(text: string, at = Date.now()): void {
    const isFinal = text.trimStart().startsWith(FINAL_LINE_PREFIX);
    for (const { name, re } of this.compiled) {
      const m = re.firstGroup(text);
      if (m === undefined) continue;
      const value = Number.parseFloat(m.trim());
      if (!Number.isFinite(value)) continue;
      if (isFinal) {
        this.final.set(name, value);
        continue;
      }
      let s = this.series.get(name);
      if (!s) this.series.set(name, (s = []));
      const point = { name, value, step: s.length, at };
      s.push(point);
      this.onPoint?.(point);
    }
  }

  /** The step's metrics: each metric's `Final:` value, else its last value. */
  latest(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, s] of this.series) out[name] = s[s.length - 1].value;
    for (const [name, v] of this.final) out[name] = v;
    return out;
  }

  /** Every matched value of ordinary lines, per metric. */
  all(): Record<string, number[]> {
    return Object.fromEntries([...this.series].map(([n, s]) => [n, s.map((p) => p.value)]));
  }

  /** Warnings for definitions that never matched a line. */
  warnings(): string[] {
    return this.compiled.filter((c) => !this.series.has(c.name) && !this.final.has(c.name)).map((c) => `metric "${c.name}": regex ${JSON.stringify(c.re.source)} never matched the log`);
  }
}
