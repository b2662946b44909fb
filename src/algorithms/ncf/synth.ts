import { CapstanError } from '../../core/errors.js';
import { Random } from './random.js';

/** Options of the synthetic interaction generator. */
export interface SynthOptions {
  users: number;
  items: number;
  /** Total interactions; at least one per user, at most half of all user–item pairs. */
  interactions: number;
  /** Default 42. */
  seed?: number;
  /** Latent dimensions of the taste model; default 8. */
  factors?: number;
}

/** Generated interactions, one row per (user, item), grouped by user in time order. */
export interface SynthData {
  user: Int32Array;
  item: Int32Array;
  rating: Float32Array;
  timestamp: Float64Array;
}

/**
 * Generates implicit feedback with latent structure: users and items get Gaussian taste vectors,
 * items a Zipf-like popularity, users a log-normal activity. Each user picks their items without
 * replacement with probability ∝ exp(taste match + popularity) (Gumbel-top-k), so a model that learns
 * the latent factors beats popularity. Ratings follow the match; timestamps rise within each user.
 */
export function synthesize(o: SynthOptions): SynthData {
  const { users: U, items: I, interactions: N } = o;
  const d = o.factors ?? 8;
  const check = (ok: boolean, msg: string) => {
    if (!ok) throw new CapstanError('CAPSTAN_NCF_HYPERPARAMETER_INVALID', msg);
  };
  check(Number.isInteger(U) && U >= 1, 'users must be a positive integer');
  check(Number.isInteger(I) && I >= 2, 'items must be an integer of at least 2');
  check(Number.isInteger(N) && N >= U, 'interactions must be an integer of at least the number of users');
  check(N <= (U * I) / 2, 'interactions must be at most half of users × items');
  check(Number.isInteger(d) && d >= 1 && d <= 64, 'factors must be an integer in [1, 64]');
  const rng = new Random(o.seed ?? 42);

  const userVec = new Float32Array(U * d);
  const itemVec = new Float32Array(I * d);
  for (let i = 0; i < userVec.length; i++) userVec[i] = rng.normal();
  for (let i = 0; i < itemVec.length; i++) itemVec[i] = rng.normal();
  const popRank = new Int32Array(I);
  for (let i = 0; i < I; i++) popRank[i] = i;
  rng.shuffle(popRank);
  const popularity = new Float32Array(I);
  for (let i = 0; i < I; i++) popularity[i] = -0.8 * Math.log(popRank[i] + 1);

  // Per-user counts: one each, the rest by log-normal activity, capped at half the catalogue.
  const cap = Math.max(1, Math.floor(I / 2));
  const weight = new Float64Array(U);
  let total = 0;
  for (let u = 0; u < U; u++) total += weight[u] = Math.exp(0.9 * rng.normal());
  const counts = new Int32Array(U);
  let assigned = 0;
  for (let u = 0; u < U; u++) {
    counts[u] = Math.min(cap, 1 + Math.floor(((N - U) * weight[u]) / total));
    assigned += counts[u];
  }
  while (assigned < N) {
    const u = rng.int(U);
    if (counts[u] < cap) {
      counts[u]++;
      assigned++;
    }
  }

  const out: SynthData = { user: new Int32Array(N), item: new Int32Array(N), rating: new Float32Array(N), timestamp: new Float64Array(N) };
  const scale = 1.6 / Math.sqrt(d);
  const keys = new Float64Array(I);
  const sorted = new Float64Array(I);
  const match = new Float32Array(I);
  let row = 0;
  const start = 1_600_000_000;
  for (let u = 0; u < U; u++) {
    const uo = u * d;
    for (let i = 0; i < I; i++) {
      const io = i * d;
      let dot = 0;
      for (let f = 0; f < d; f++) dot += userVec[uo + f] * itemVec[io + f];
      match[i] = dot * scale;
      let r = rng.next();
      while (r === 0) r = rng.next();
      keys[i] = match[i] + popularity[i] - Math.log(-Math.log(r));
    }
    const k = counts[u];
    // The k largest keys: a native numeric sort finds the threshold (keys are continuous, so ties do not occur).
    sorted.set(keys);
    sorted.sort();
    const threshold = sorted[I - k];
    const picks: number[] = [];
    for (let i = 0; i < I && picks.length < k; i++) if (keys[i] >= threshold) picks.push(i);
    // Random times within a year; the picks are shuffled first so time order is not preference order.
    rng.shuffle(picks);
    const times = Array.from({ length: k }, () => start + Math.floor(rng.next() * 31_536_000)).sort((a, b) => a - b);
    for (let j = 0; j < k; j++) {
      const i = picks[j];
      out.user[row] = u;
      out.item[row] = i;
      const rating = Math.round(3.5 + 0.9 * match[i] + 0.5 * rng.normal());
      out.rating[row] = Math.min(5, Math.max(1, rating));
      out.timestamp[row] = times[j];
      row++;
    }
  }
  return out;
}

/** The generated data as CSV `user,item,rating,timestamp` with 1-based ids (the generic `csv` format). */
export function synthCsv(data: SynthData): string {
  const lines = ['user,item,rating,timestamp'];
  for (let r = 0; r < data.user.length; r++) lines.push(`${data.user[r] + 1},${data.item[r] + 1},${data.rating[r]},${data.timestamp[r]}`);
  return `${lines.join('\n')}\n`;
}
