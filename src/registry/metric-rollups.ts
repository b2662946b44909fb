/**
 * Metric series summarised as they are logged, so a chart of a run costs the same for 10 points or
 * 10 million: every point lands in one bucket per level (bucket widths 16, 64, … 4^12 steps), and a
 * bucket keeps its count, its step range and its lowest and highest point. A chart of B buckets then
 * reads the coarsest level with at least B buckets in the run's range — between B and 4·B rows —
 * and merges them, instead of reading every point (docs/decisions/0030-stored-metric-rollups.md).
 */

/** Bucket widths in steps, finest first; the coarsest one also answers a series' count and range. */
export const ROLLUP_WIDTHS: readonly number[] = Array.from({ length: 11 }, (_, i) => 4 ** (i + 2));

/** The coarsest width: its rows summed give a series' count and first and last step. */
export const SUMMARY_WIDTH = ROLLUP_WIDTHS[ROLLUP_WIDTHS.length - 1];

/** One bucket of one level of one metric of one run: a `run_metric_rollups` row without its run and key. */
export interface Rollup {
  width: number;
  bucket: number;
  n: number;
  firstStep: number;
  lastStep: number;
  minStep: number;
  minValue: number;
  maxStep: number;
  maxValue: number;
}

/** Adds one point to a bucket; among equal values the earlier step is kept. */
function addPoint(r: Rollup, step: number, value: number): void {
  r.n++;
  if (step < r.firstStep) r.firstStep = step;
  if (step > r.lastStep) r.lastStep = step;
  if (value < r.minValue || (value === r.minValue && step < r.minStep)) {
    r.minValue = value;
    r.minStep = step;
  }
  if (value > r.maxValue || (value === r.maxValue && step < r.maxStep)) {
    r.maxValue = value;
    r.maxStep = step;
  }
}

/** The buckets a batch of points of one metric touches, every level, each aggregated once. */
export function rollupPoints(points: readonly { step: number; value: number }[]): Rollup[] {
  const out: Rollup[] = [];
  for (const width of ROLLUP_WIDTHS) {
    const byBucket = new Map<number, Rollup>();
    for (const { step, value } of points) {
      const bucket = Math.floor(step / width);
      const r = byBucket.get(bucket);
      if (r) addPoint(r, step, value);
      else byBucket.set(bucket, { width, bucket, n: 1, firstStep: step, lastStep: step, minStep: step, minValue: value, maxStep: step, maxValue: value });
    }
    out.push(...byBucket.values());
  }
  return out;
}

/** A series' count and step range, from its coarsest level's rows. */
export function seriesSummary(rows: readonly Pick<Rollup, 'n' | 'firstStep' | 'lastStep'>[]): { n: number; firstStep: number; lastStep: number } {
  let n = 0;
  let firstStep = Infinity;
  let lastStep = -Infinity;
  for (const r of rows) {
    n += r.n;
    firstStep = Math.min(firstStep, r.firstStep);
    lastStep = Math.max(lastStep, r.lastStep);
  }
  return { n, firstStep, lastStep };
}

/**
 * The width to read for `buckets` buckets over steps `firstStep..lastStep`: the coarsest level with
 * at least that many buckets in the range, or undefined when even the finest has fewer (the series
 * is then short in steps and is cut from its points).
 */
export function widthFor(firstStep: number, lastStep: number, buckets: number): number | undefined {
  for (let i = ROLLUP_WIDTHS.length - 1; i >= 0; i--) {
    const w = ROLLUP_WIDTHS[i];
    if (Math.floor(lastStep / w) - Math.floor(firstStep / w) + 1 >= buckets) return w;
  }
  return undefined;
}

/**
 * Merges one level's rows of a series into `buckets` equal step ranges over `firstStep..lastStep`
 * (a row goes whole to the range its first step is in) and answers each range's lowest and highest
 * point, in step order: at most 2 · `buckets` points, spikes and dips kept.
 */
export function mergeRollups(rows: readonly Rollup[], firstStep: number, lastStep: number, buckets: number): [number, number][] {
  const span = lastStep - firstStep + 1;
  const lo: (Rollup | undefined)[] = new Array(buckets);
  const hi: (Rollup | undefined)[] = new Array(buckets);
  for (const r of rows) {
    const b = Math.min(buckets - 1, Math.max(0, Math.floor(((r.firstStep - firstStep) * buckets) / span)));
    const l = lo[b];
    if (!l || r.minValue < l.minValue || (r.minValue === l.minValue && r.minStep < l.minStep)) lo[b] = r;
    const h = hi[b];
    if (!h || r.maxValue > h.maxValue || (r.maxValue === h.maxValue && r.maxStep < h.maxStep)) hi[b] = r;
  }
  const out: [number, number][] = [];
  for (let b = 0; b < buckets; b++) {
    const l = lo[b];
    const h = hi[b];
    if (!l || !h) continue;
    if (l.minStep === h.maxStep && l.minValue === h.maxValue) out.push([l.minStep, l.minValue]);
    else if (l.minStep <= h.maxStep) out.push([l.minStep, l.minValue], [h.maxStep, h.maxValue]);
    else out.push([h.maxStep, h.maxValue], [l.minStep, l.minValue]);
  }
  return out;
}
