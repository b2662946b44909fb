import { sql } from 'kysely';
import type { Database } from '../storage/database.js';
import { addHistogram, type ScoreHistogram } from './score-histogram.js';

interface ScoreTable {
  rollout_score_histograms: { endpoint: string; variant: string; bucket_start: number; writer: string; total: number; counts: string };
}

/** One process's running score histogram of one variant in one time bucket. */
export interface ScoreCell {
  endpoint: string;
  variant: string;
  /** Start of the time bucket, ms since the epoch. */
  bucketStart: number;
  counts: ScoreHistogram;
  total: number;
}

/** `rollout_score_histograms`: each serving process's score histograms, summed by the reader. */
export class SqlScoreStore {
  constructor(private readonly db: Database) {}

  private get k() {
    return this.db.as<ScoreTable>();
  }

  /** Replaces this writer's rows of the cells with their running counts. */
  async put(writer: string, cells: readonly ScoreCell[]): Promise<void> {
    const rows = cells.map((c) => ({ endpoint: c.endpoint, variant: c.variant, bucket_start: c.bucketStart, writer, total: c.total, counts: JSON.stringify(Object.fromEntries(c.counts)) }));
    for (let i = 0; i < rows.length; i += 100) {
      await this.k
        .insertInto('rollout_score_histograms')
        .values(rows.slice(i, i + 100))
        .onConflict((oc) => oc.columns(['endpoint', 'variant', 'bucket_start', 'writer']).doUpdateSet({ total: sql`excluded.total`, counts: sql`excluded.counts` }))
        .execute();
    }
  }

  /** The summed histogram of these variants (all processes) over time buckets starting at or after `from`. */
  async histogram(endpoint: string, variants: readonly string[], from: number): Promise<ScoreHistogram> {
    const out: ScoreHistogram = new Map();
    if (variants.length === 0) return out;
    const rows = await this.k.selectFrom('rollout_score_histograms').select('counts').where('endpoint', '=', endpoint).where('variant', 'in', [...variants]).where('bucket_start', '>=', from).execute();
    for (const r of rows) addHistogram(out, new Map(Object.entries(JSON.parse(r.counts) as Record<string, number>).map(([b, c]) => [Number(b), c])));
    return out;
  }

  /** Deletes time buckets that started before `before`. */
  async prune(before: number): Promise<void> {
    await this.k.deleteFrom('rollout_score_histograms').where('bucket_start', '<', before).execute();
  }
}
