/**
 * Fixed score buckets, so histograms from every serving process and time bucket add up bucket by
 * bucket: bucket 0 holds |x| < 1e-6; bucket ±k holds ±(1e-6·γ^(k-1), 1e-6·γ^k] with γ = 1.02 (2 %
 * relative width) up to |x| = 1e6 (larger values fall in the outermost bucket). Bucket numbers
 * sort like the values, so the statistics below work on them directly. Never change the scheme:
 * stored histograms would no longer line up.
 */
const MIN_ABS = 1e-6;
const LOG_GAMMA = Math.log(1.02);

/** The largest bucket number (either sign); a histogram has at most 2 × this + 1 buckets. */
export const MAX_SCORE_BUCKET = Math.ceil(Math.log(1e6 / MIN_ABS) / LOG_GAMMA);

/** A score histogram: bucket number → count. */
export type ScoreHistogram = Map<number, number>;

/** The bucket a score falls in. */
export function scoreBucket(x: number): number {
  const a = Math.abs(x);
  if (!(a >= MIN_ABS)) return 0;
  const k = Math.min(MAX_SCORE_BUCKET, Math.max(1, Math.ceil(Math.log(a / MIN_ABS) / LOG_GAMMA)));
  return x < 0 ? -k : k;
}

/** Adds `from` into `into`. */
export function addHistogram(into: ScoreHistogram, from: ReadonlyMap<number, number>): void {
  for (const [b, c] of from) into.set(b, (into.get(b) ?? 0) + c);
}

/** The number of scores counted. */
export function histogramTotal(h: ReadonlyMap<number, number>): number {
  let n = 0;
  for (const c of h.values()) n += c;
  return n;
}

function sortedBuckets(h: ReadonlyMap<number, number>): number[] {
  return [...h.keys()].sort((a, b) => a - b);
}

/**
 * Population stability index of `actual` against `expected` over ten bins cut at `expected`'s
 * deciles (in bucket numbers); empty bins count as 0.01 % so the logarithm stays finite.
 */
export function psiOfHistograms(expected: ReadonlyMap<number, number>, actual: ReadonlyMap<number, number>): number {
  const n = histogramTotal(expected);
  const buckets = sortedBuckets(expected);
  // edges[i]: the bucket of expected's element at rank floor((i + 1) n / 10), as the decile of sorted values.
  const edges: number[] = [];
  let seen = 0;
  let j = 0;
  for (let i = 0; i < 9; i++) {
    const rank = Math.floor(((i + 1) * n) / 10);
    while (j < buckets.length && seen + expected.get(buckets[j])! <= rank) seen += expected.get(buckets[j++])!;
    edges.push(buckets[Math.min(j, buckets.length - 1)]);
  }
  const bins = (h: ReadonlyMap<number, number>) => {
    const out = new Array<number>(10).fill(0);
    const total = histogramTotal(h);
    for (const [b, c] of h) {
      let bin = 0;
      while (bin < 9 && b > edges[bin]) bin++;
      out[bin] += c;
    }
    return out.map((c) => Math.max(c / total, 1e-4));
  };
  const e = bins(expected);
  const a = bins(actual);
  return e.reduce((sum, ei, i) => sum + (a[i] - ei) * Math.log(a[i] / ei), 0);
}

/** Two-sample Kolmogorov-Smirnov statistic over the histograms: the largest gap between their distribution functions. */
export function ksOfHistograms(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): number {
  const na = histogramTotal(a);
  const nb = histogramTotal(b);
  if (na === 0 || nb === 0) return 0;
  const buckets = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y);
  let ca = 0;
  let cb = 0;
  let d = 0;
  for (const k of buckets) {
    ca += a.get(k) ?? 0;
    cb += b.get(k) ?? 0;
    d = Math.max(d, Math.abs(ca / na - cb / nb));
  }
  return d;
}

/** A histogram of raw scores (tests, and one process's own answers). */
export function histogramOf(scores: Iterable<number>): ScoreHistogram {
  const h: ScoreHistogram = new Map();
  for (const x of scores) {
    const b = scoreBucket(x);
    h.set(b, (h.get(b) ?? 0) + 1);
  }
  return h;
}
