import { CapstanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Database } from '../storage/database.js';

interface FeedbackTables {
  inference_assignments: { endpoint: string; inference_id: string; variant: string; at: number };
  inference_feedback: { endpoint: string; inference_id: string; variant: string; reward: number | null; label: string | null; at: number };
}

/** An outcome a caller reports for one invocation: a numeric reward, or a label (`converted`, `0`, `1`…). */
export interface FeedbackInput {
  inferenceId: string;
  reward?: number;
  label?: string;
}

/** What `feedback` stored. */
export interface FeedbackResult {
  endpoint: string;
  inferenceId: string;
  variant: string;
  value: number;
}

/** One variant in `ab-report`. */
export interface AbVariant {
  variant: string;
  /** Invocations with an inference id this variant answered. */
  invocations: number;
  feedback: number;
  /** Mean reward (a conversion rate when rewards are 0/1), with a 95 % confidence interval; null without feedback. */
  mean: number | null;
  ci95: [number, number] | null;
}

/** `ab-report`: per-variant outcomes and whether the best differs from the runner-up. */
export interface AbReport {
  endpoint: string;
  variants: AbVariant[];
  /** Welch's t-test of the best mean against the second best (normal approximation); null with fewer than two variants with 2+ outcomes each. */
  test: { best: string; runnerUp: string; difference: number; t: number; pValue: number; significantAt95: boolean } | null;
}

const POSITIVE = new Set(['1', 'true', 'yes', 'converted', 'conversion', 'click', 'clicked', 'positive', 'purchase']);

/** Standard normal CDF (Abramowitz and Stegun 7.1.26 for erf; error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

/**
 * Joins outcomes to the invocations that produced them. Serving tells this book which variant answered
 * each invocation with an inference id; those assignments are buffered and stored every `flushMs`, and
 * a feedback for an id not stored yet flushes this process's buffer first.
 */
export class FeedbackBook {
  private buffer: FeedbackTables['inference_assignments'][] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly db: Database, private readonly logger: Logger, private readonly flushMs = 500) {}

  private get k() {
    return this.db.as<FeedbackTables>();
  }

  /** Records which variant answered an invocation (the serving host's listener; no I/O here). */
  assigned(e: { endpoint: string; variant: string; inferenceId?: string }): void {
    if (e.inferenceId === undefined || e.inferenceId.length > 200) return;
    this.buffer.push({ endpoint: e.endpoint, inference_id: e.inferenceId, variant: e.variant, at: Date.now() });
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush().catch((err) => this.logger.warn({ err }, 'could not store inference assignments')), this.flushMs);
      this.timer.unref();
    }
  }

  /** Stores the buffered assignments (the first one of an id wins). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.buffer;
    this.buffer = [];
    const next = this.flushing.then(async () => {
      for (let i = 0; i < rows.length; i += 500) {
        await this.k.insertInto('inference_assignments').values(rows.slice(i, i + 500)).onConflict((oc) => oc.columns(['endpoint', 'inference_id']).doNothing()).execute();
      }
    });
    this.flushing = next.catch(() => {});
    return next;
  }

  /** Stores an outcome for an invocation; CAPSTAN_ROLLOUT_INFERENCE_NOT_FOUND (nothing stored) for an id no variant answered. */
  async submit(endpoint: string, input: FeedbackInput): Promise<FeedbackResult> {
    if (!input || typeof input.inferenceId !== 'string' || !input.inferenceId || input.inferenceId.length > 200) {
      throw new CapstanError('CAPSTAN_ROLLOUT_FEEDBACK_INVALID', 'inferenceId must be the X-Capstan-Inference-Id of an invocation (1-200 characters)', { fields: { field: 'inferenceId' } });
    }
    const hasReward = input.reward !== undefined;
    if (hasReward && (typeof input.reward !== 'number' || !Number.isFinite(input.reward))) throw new CapstanError('CAPSTAN_ROLLOUT_FEEDBACK_INVALID', 'reward must be a finite number', { fields: { field: 'reward' } });
    if (input.label !== undefined && (typeof input.label !== 'string' || input.label.length > 200)) throw new CapstanError('CAPSTAN_ROLLOUT_FEEDBACK_INVALID', 'label must be a string of at most 200 characters', { fields: { field: 'label' } });
    if (!hasReward && input.label === undefined) throw new CapstanError('CAPSTAN_ROLLOUT_FEEDBACK_INVALID', 'give a reward or a label', { fields: { field: 'reward' } });
    let assignment = await this.find(endpoint, input.inferenceId);
    if (!assignment && this.buffer.length > 0) {
      await this.flush();
      assignment = await this.find(endpoint, input.inferenceId);
    }
    if (!assignment) {
      throw new CapstanError('CAPSTAN_ROLLOUT_INFERENCE_NOT_FOUND', `endpoint ${endpoint} answered no invocation with inference id ${JSON.stringify(input.inferenceId)} (send X-Capstan-Inference-Id with the invocation)`, { fields: { endpoint, inferenceId: input.inferenceId } });
    }
    const value = hasReward ? input.reward! : POSITIVE.has(input.label!.trim().toLowerCase()) ? 1 : 0;
    const row = { endpoint, inference_id: input.inferenceId, variant: assignment.variant, reward: value, label: input.label ?? null, at: Date.now() };
    await this.k
      .insertInto('inference_feedback')
      .values(row)
      .onConflict((oc) => oc.columns(['endpoint', 'inference_id']).doUpdateSet({ reward: value, label: row.label, at: row.at }))
      .execute();
    return { endpoint, inferenceId: input.inferenceId, variant: assignment.variant, value };
  }

  private find(endpoint: string, inferenceId: string) {
    return this.k.selectFrom('inference_assignments').select('variant').where('endpoint', '=', endpoint).where('inference_id', '=', inferenceId).executeTakeFirst();
  }

  /** Per-variant invocations, outcomes, mean reward with a 95 % interval, and a test of the best against the runner-up. */
  async report(endpoint: string): Promise<AbReport> {
    await this.flush();
    const counts = await this.k.selectFrom('inference_assignments').select(['variant', (eb) => eb.fn.countAll<number>().as('n')]).where('endpoint', '=', endpoint).groupBy('variant').execute();
    const rows = await this.k.selectFrom('inference_feedback').select(['variant', 'reward']).where('endpoint', '=', endpoint).execute();
    const byVariant = new Map<string, number[]>();
    for (const r of rows) byVariant.set(r.variant, [...(byVariant.get(r.variant) ?? []), Number(r.reward)]);
    const names = [...new Set([...counts.map((c) => c.variant), ...byVariant.keys()])].sort();
    const stats = names.map((variant) => {
      const xs = byVariant.get(variant) ?? [];
      const n = xs.length;
      const mean = n ? xs.reduce((a, b) => a + b, 0) / n : 0;
      const variance = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
      return { variant, n, mean, variance, invocations: Number(counts.find((c) => c.variant === variant)?.n ?? 0) };
    });
    const variants: AbVariant[] = stats.map((s) => {
      const half = s.n > 1 ? 1.96 * Math.sqrt(s.variance / s.n) : null;
      return { variant: s.variant, invocations: s.invocations, feedback: s.n, mean: s.n ? r4(s.mean) : null, ci95: half === null ? null : [r4(s.mean - half), r4(s.mean + half)] };
    });
    const ranked = stats.filter((s) => s.n > 1).sort((a, b) => b.mean - a.mean);
    let test: AbReport['test'] = null;
    if (ranked.length >= 2) {
      const [a, b] = ranked;
      const se = Math.sqrt(a.variance / a.n + b.variance / b.n);
      const diff = a.mean - b.mean;
      const t = se > 0 ? diff / se : diff > 0 ? Infinity : 0;
      const pValue = Number.isFinite(t) ? 2 * (1 - normalCdf(Math.abs(t))) : 0;
      test = { best: a.variant, runnerUp: b.variant, difference: r4(diff), t: Number.isFinite(t) ? r4(t) : t, pValue: r4(pValue), significantAt95: pValue < 0.05 };
    }
    return { endpoint, variants, test };
  }

  /** Per variant, outcomes with a reward above 0 (successes) and the rest (failures). */
  async successes(endpoint: string): Promise<Map<string, { successes: number; failures: number }>> {
    const rows = await this.k.selectFrom('inference_feedback').select(['variant', 'reward']).where('endpoint', '=', endpoint).execute();
    const out = new Map<string, { successes: number; failures: number }>();
    for (const r of rows) {
      const o = out.get(r.variant) ?? { successes: 0, failures: 0 };
      if (Number(r.reward) > 0) o.successes++;
      else o.failures++;
      out.set(r.variant, o);
    }
    return out;
  }

  /** Stores what is buffered; on platform close. */
  async close(): Promise<void> {
    await this.flush().catch((err) => this.logger.warn({ err }, 'could not store inference assignments on close'));
  }
}
