import type { Registry } from 'prom-client';

/*
 * Counters and histograms for the request path, counted in plain numbers and read by prom-client's
 * registry at scrape time. prom-client's own `inc` and `observe` rebuild the label object, validate it
 * and hash it into a string on every call, bound children included; with five such calls per
 * invocation that was 4.5 % of the gateway's CPU at saturation. Here a series is found once (a map
 * per label, no string building) and each call is an addition. The registry needs only `name` and
 * `get()`, which returns prom-client's own shape, so the exposition format stays prom-client's.
 */

/** One counter series, bound to its labels. */
export interface CounterSeries {
  /** Adds `n` (default 1). */
  inc(n?: number): void;
}

/** One histogram series, bound to its labels. */
export interface HistogramSeries {
  observe(value: number): void;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  /** Buckets carry prom-client's `exemplar` slot, always empty here. */
  exemplar?: null;
}

/** What prom-client's registry reads from a metric at scrape time. */
interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

/** The options of a plain metric; the label names are required, in the order `labels()` takes them. */
export interface PlainMetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

/** Series by label values, one map level per label, so finding a series builds no string. */
class SeriesTree<L extends string, S> {
  private readonly root = new Map<string, unknown>();
  readonly all: { labels: Record<L, string>; series: S }[] = [];

  constructor(
    private readonly labelNames: readonly L[],
    private readonly make: () => S,
  ) {}

  /** The map holding the series for `labels` under its last label's value; made on the way when `make`, else undefined where missing. */
  private leafLevel(labels: Record<L, string>, make: boolean): Map<string, unknown> | undefined {
    let level = this.root;
    const last = this.labelNames.length - 1;
    for (let i = 0; i < last; i++) {
      const value = labels[this.labelNames[i]];
      let next = level.get(value) as Map<string, unknown> | undefined;
      if (!next) {
        if (!make) return undefined;
        level.set(value, (next = new Map()));
      }
      level = next;
    }
    return level;
  }

  /** The series for `labels`, created at first use. */
  get(labels: Record<L, string>): S {
    const level = this.leafLevel(labels, true)!;
    const leaf = labels[this.labelNames[this.labelNames.length - 1]];
    let series = level.get(leaf) as S | undefined;
    if (series === undefined) {
      series = this.make();
      level.set(leaf, series);
      const copy = {} as Record<L, string>;
      for (const name of this.labelNames) copy[name] = labels[name];
      this.all.push({ labels: copy, series });
    }
    return series;
  }

  /**
   * Drops the series for `labels` (a series bound before keeps counting, unseen); the next use starts
   * a new one from zero, as prom-client's `remove` does.
   */
  remove(labels: Record<L, string>): void {
    const level = this.leafLevel(labels, false);
    const leaf = labels[this.labelNames[this.labelNames.length - 1]];
    const series = level?.get(leaf);
    if (series === undefined) return;
    level!.delete(leaf);
    this.all.splice(this.all.findIndex((entry) => entry.series === series), 1);
  }

  /** Every series, in the order first used. */
  each(fn: (series: S) => void): void {
    for (const { series } of this.all) fn(series);
  }
}

function checkLabels<L extends string>(options: PlainMetricOptions<L>): void {
  if (options.labelNames.length === 0) throw new TypeError(`metric ${options.name} needs at least one label name`);
}

/** A counter with labels, registered on `registry` (or the one already registered under its name). */
export class PlainCounter<L extends string> {
  readonly name: string;
  readonly help: string;
  private readonly tree: SeriesTree<L, { value: number }>;

  /** Use `PlainCounter.on`, which registers it. */
  constructor(options: PlainMetricOptions<L>) {
    checkLabels(options);
    this.name = options.name;
    this.help = options.help;
    this.tree = new SeriesTree(options.labelNames, () => ({ value: 0 }));
  }

  /** The counter named `options.name` on `registry`, registered now if it is not there yet. */
  static on<L extends string>(registry: Registry, options: PlainMetricOptions<L>): PlainCounter<L> {
    return registerOnce(registry, options.name, PlainCounter, () => new PlainCounter(options)) as PlainCounter<L>;
  }

  /** The series for these label values, bound once; its `inc` is one addition. */
  labels(labels: Record<L, string>): CounterSeries {
    const s = this.tree.get(labels);
    return { inc: (n = 1) => void (s.value += n) };
  }

  /** Adds `n` (default 1) to the series for `labels`. */
  inc(labels: Record<L, string>, n = 1): void {
    this.tree.get(labels).value += n;
  }

  /** Removes the series for `labels` from the scrape, e.g. when what it counts is gone. */
  remove(labels: Record<L, string>): void {
    this.tree.remove(labels);
  }

  /** prom-client's registry reads this at scrape time. */
  get(): Promise<MetricSnapshot> {
    const values = this.tree.all.map(({ labels, series }) => ({ labels: { ...labels }, value: series.value }));
    return Promise.resolve({ name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' });
  }

  /** Zeroes every series in place, so series bound before keep counting (prom-client's `registry.resetMetrics()`). */
  reset(): void {
    this.tree.each((s) => (s.value = 0));
  }
}

interface HistogramCounts {
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/** A histogram with labels and fixed upper bounds, registered on `registry` (or the one already there). */
export class PlainHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  private readonly bounds: readonly number[];
  private readonly tree: SeriesTree<L, HistogramCounts>;

  /** Use `PlainHistogram.on`, which registers it. */
  constructor(options: PlainMetricOptions<L> & { buckets: readonly number[] }) {
    checkLabels(options);
    this.name = options.name;
    this.help = options.help;
    this.bounds = [...options.buckets].sort((a, b) => a - b);
    this.tree = new SeriesTree(options.labelNames, () => ({ buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }));
  }

  /** The histogram named `options.name` on `registry`, registered now if it is not there yet. */
  static on<L extends string>(registry: Registry, options: PlainMetricOptions<L> & { buckets: readonly number[] }): PlainHistogram<L> {
    return registerOnce(registry, options.name, PlainHistogram, () => new PlainHistogram(options)) as PlainHistogram<L>;
  }

  /** The series for these label values, bound once. */
  labels(labels: Record<L, string>): HistogramSeries {
    const s = this.tree.get(labels);
    return { observe: (value) => this.add(s, value) };
  }

  /** Records `value` in the series for `labels`. */
  observe(labels: Record<L, string>, value: number): void {
    this.add(this.tree.get(labels), value);
  }

  private add(s: HistogramCounts, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: value is not a valid number: ${value}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    s.buckets[i] += 1;
    s.sum += value;
    s.count += 1;
  }

  /** Removes the series for `labels` from the scrape, e.g. when what it measures is gone. */
  remove(labels: Record<L, string>): void {
    this.tree.remove(labels);
  }

  /** prom-client's registry reads this at scrape time: cumulative buckets, `+Inf`, sum and count per series. */
  get(): Promise<MetricSnapshot> {
    const values: MetricValue[] = [];
    for (const { labels, series } of this.tree.all) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += series.buckets[i];
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket`, exemplar: null });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: series.count, metricName: `${this.name}_bucket`, exemplar: null });
      values.push({ labels: { ...labels }, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...labels }, value: series.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' });
  }

  /** Zeroes every series in place, so series bound before keep counting (prom-client's `registry.resetMetrics()`). */
  reset(): void {
    this.tree.each((s) => {
      s.buckets.fill(0);
      s.sum = 0;
      s.count = 0;
    });
  }
}

function registerOnce<M>(registry: Registry, name: string, kind: abstract new (...args: any[]) => M, make: () => M): M {
  const existing = registry.getSingleMetric(name) as unknown;
  if (existing !== undefined) {
    if (!(existing instanceof kind)) throw new TypeError(`metric ${name} is already registered as another kind`);
    return existing;
  }
  const metric = make();
  // The registry's contract is `name` plus `get()` (and `reset()`); its type names prom-client's classes only.
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  return metric;
}
