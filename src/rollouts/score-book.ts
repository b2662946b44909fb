/** How many recent scores are kept per variant. */
const MAX_SCORES = 20_000;

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

/**
 * Recent output scores per variant of the endpoints a deployment with a model-quality alarm watches,
 * as answered in this process (the one driving the deployment). Nothing is parsed for other endpoints.
 */
export class ScoreBook {
  private readonly watched = new Set<string>();
  private readonly scores = new Map<string, { at: number[]; score: number[] }>();

  /** Starts collecting an endpoint's scores. */
  watch(endpoint: string): void {
    this.watched.add(endpoint);
  }

  /** Stops collecting and forgets an endpoint's scores. */
  unwatch(endpoint: string): void {
    this.watched.delete(endpoint);
    for (const key of [...this.scores.keys()]) if (key.startsWith(`${endpoint}\u0000`)) this.scores.delete(key);
  }

  /** The invocation listener: keeps the score of an answer of a watched endpoint. */
  answered(e: { endpoint: string; variant: string; body: Buffer | string }): void {
    if (!this.watched.has(e.endpoint)) return;
    const score = scoreOf(typeof e.body === 'string' ? e.body : e.body.toString('utf8'));
    if (score === undefined) return;
    const key = `${e.endpoint}\u0000${e.variant}`;
    let s = this.scores.get(key);
    if (!s) this.scores.set(key, (s = { at: [], score: [] }));
    s.at.push(Date.now());
    s.score.push(score);
    if (s.at.length > MAX_SCORES) {
      s.at.splice(0, s.at.length - MAX_SCORES);
      s.score.splice(0, s.score.length - MAX_SCORES);
    }
  }

  /** The scores of these variants since `since` (ms since the epoch). */
  since(endpoint: string, variants: readonly string[], since: number): number[] {
    const out: number[] = [];
    for (const v of variants) {
      const s = this.scores.get(`${endpoint}\u0000${v}`);
      if (!s) continue;
      for (let i = 0; i < s.at.length; i++) if (s.at[i] >= since) out.push(s.score[i]);
    }
    return out;
  }
}

/** Population stability index of `actual` against `expected`, over ten bins at `expected`'s deciles. */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  const sorted = [...expected].sort((a, b) => a - b);
  const edges = Array.from({ length: 9 }, (_, i) => sorted[Math.floor(((i + 1) * sorted.length) / 10)]);
  const hist = (xs: readonly number[]) => {
    const h = new Array<number>(10).fill(0);
    for (const x of xs) {
      let b = 0;
      while (b < 9 && x > edges[b]) b++;
      h[b]++;
    }
    return h.map((c) => Math.max(c / xs.length, 1e-4));
  };
  const e = hist(expected);
  const a = hist(actual);
  return e.reduce((sum, ei, i) => sum + (a[i] - ei) * Math.log(a[i] / ei), 0);
}

/** Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical distribution functions. */
export function ksStatistic(a: readonly number[], b: readonly number[]): number {
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i], y[j]);
    while (i < x.length && x[i] <= v) i++;
    while (j < y.length && y[j] <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}
