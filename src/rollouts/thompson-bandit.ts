import type { Logger } from '../core/logger.js';
import type { EndpointService } from '../serving/index.js';
import type { FeedbackBook } from './feedback.js';
import { seededRandom } from '../core/seeded-random.js';

/** Options of the bandit; every field has a default. */
export interface ThompsonBanditOptions {
  /** How often weights are recomputed; default 10000 ms. */
  intervalMs?: number;
  /** Posterior draws per recomputation; default 4000. */
  draws?: number;
  /** Share a variant keeps at least (about, before the shares are normalised) so it is still explored, in percent; default 1. */
  floorPercent?: number;
}

function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Gamma(shape, 1) by Marsaglia and Tsang (shape ≥ 1 here: Beta parameters start at 1). */
function gamma(shape: number, rand: () => number): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rand);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rand();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Each variant's probability of having the highest conversion, from Beta(1 + successes, 1 + failures) posteriors. */
export function probabilityBest(arms: readonly { variant: string; successes: number; failures: number }[], draws: number, seed: number): Map<string, number> {
  const rand = seededRandom(seed);
  const wins = new Map(arms.map((a) => [a.variant, 0]));
  for (let i = 0; i < draws; i++) {
    let best = '';
    let bestValue = -1;
    for (const a of arms) {
      const x = gamma(1 + a.successes, rand);
      const y = gamma(1 + a.failures, rand);
      const sample = x / (x + y);
      if (sample > bestValue) {
        bestValue = sample;
        best = a.variant;
      }
    }
    wins.set(best, (wins.get(best) ?? 0) + 1);
  }
  return new Map([...wins].map(([v, w]) => [v, w / draws]));
}

/**
 * The Thompson-sampling traffic policy's other half: every interval, for each endpoint whose policy is
 * `thompson`, sets each variant's weight to its probability of being best given the feedback so far
 * (rewards above 0 count as successes). Seeded by the counts, so every process computes the same
 * weights and only the first change is written.
 */
export class ThompsonBandit {
  private last = 0;
  private readonly intervalMs: number;
  private readonly draws: number;
  private readonly floor: number;

  constructor(private readonly deps: { serving: () => EndpointService; feedback: FeedbackBook; logger: Logger }, options: ThompsonBanditOptions = {}) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.draws = options.draws ?? 4000;
    this.floor = options.floorPercent ?? 1;
  }

  /** Called on every controller tick; rebalances when the interval has passed. */
  async tick(now = Date.now()): Promise<void> {
    if (now - this.last < this.intervalMs) return;
    this.last = now;
    for (const ep of await this.deps.serving().list()) {
      if (ep.trafficPolicy.kind !== 'thompson') continue;
      await this.rebalance(ep.name).catch((err) => this.deps.logger.warn({ err, endpoint: ep.name }, 'could not rebalance a thompson endpoint'));
    }
  }

  /** Recomputes one endpoint's weights from its feedback; returns them when they changed. */
  async rebalance(endpoint: string): Promise<Record<string, number> | undefined> {
    const ep = await this.deps.serving().describe(endpoint);
    const routed = ep.variants.filter((v) => !v.shadowPercent);
    const outcomes = await this.deps.feedback.successes(endpoint);
    const arms = routed.map((v) => ({ variant: v.name, successes: outcomes.get(v.name)?.successes ?? 0, failures: outcomes.get(v.name)?.failures ?? 0 }));
    if (arms.length < 2) return undefined;
    const seed = arms.reduce((h, a) => Math.imul(h ^ (a.successes * 31 + a.failures), 0x01000193) >>> 0, 0x811c9dc5);
    const p = probabilityBest(arms, this.draws, seed);
    const raw = arms.map((a) => Math.max(this.floor, Math.round(100 * (p.get(a.variant) ?? 0) * 100) / 100));
    const sum = raw.reduce((x, y) => x + y, 0);
    const weights = Object.fromEntries(arms.map((a, i) => [a.variant, Math.round((raw[i] / sum) * 10_000) / 100]));
    const total = routed.reduce((x, v) => x + v.weight, 0) || 1;
    const moved = routed.some((v) => Math.abs((100 * v.weight) / total - weights[v.name]) >= 1);
    if (!moved) return undefined;
    await this.deps.serving().update(endpoint, { weights }, { actor: 'system:thompson' });
    this.deps.logger.info({ endpoint, weights }, 'thompson sampling moved the weights');
    return weights;
  }
}
