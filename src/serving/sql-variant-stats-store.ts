import { sql } from 'kysely';
import type { Database } from '../storage/database.js';
import { LATENCY_BUCKETS } from './latency-histogram.js';
import type { StatsCell } from './variant-stats-recorder.js';
import type { VariantTotals } from './variant-stats.js';

const LATENCY_COLUMNS = Array.from({ length: LATENCY_BUCKETS }, (_, i) => `latency_${String(i).padStart(2, '0')}`);
const COUNTER_COLUMNS = ['requests', 'errors_4xx', 'errors_5xx', 'model_errors', 'latency_sum_ms', ...LATENCY_COLUMNS];

type StatsRow = Record<string, string | number>;

/** `serving_variant_stats` in the metadata DB: counts from every serving process, summed per time bucket. */
export class SqlVariantStatsStore {
  constructor(private readonly db: Database) {}

  private get k() {
    return this.db.as<{ serving_variant_stats: StatsRow }>();
  }

  /** Adds the cells to their rows (creating them), so counts from several processes add up. */
  async add(cells: StatsCell[]): Promise<void> {
    if (cells.length === 0) return;
    const rows = cells.map((c) => {
      const row: StatsRow = {
        endpoint: c.endpoint,
        variant: c.variant,
        bucket_start: c.bucketStart,
        requests: c.requests,
        errors_4xx: c.errors4xx,
        errors_5xx: c.errors5xx,
        model_errors: c.modelErrors,
        latency_sum_ms: c.latencySumMs,
      };
      for (let i = 0; i < LATENCY_BUCKETS; i++) row[LATENCY_COLUMNS[i]] = c.latency[i];
      return row;
    });
    const set = Object.fromEntries(COUNTER_COLUMNS.map((col) => [col, sql`serving_variant_stats.${sql.ref(col)} + excluded.${sql.ref(col)}`]));
    // Bounded statements: a long outage can leave many cells to write.
    for (let i = 0; i < rows.length; i += 200) {
      await this.k
        .insertInto('serving_variant_stats')
        .values(rows.slice(i, i + 200))
        .onConflict((oc) => oc.columns(['endpoint', 'variant', 'bucket_start']).doUpdateSet(set as never))
        .execute();
    }
  }

  /** Each variant's sums over the time buckets starting at or after `from`. */
  async totals(endpoint: string, from: number): Promise<VariantTotals[]> {
    const rows = await this.k
      .selectFrom('serving_variant_stats')
      .select((eb) => ['variant', ...COUNTER_COLUMNS.map((col) => eb.fn.sum(col).as(col))] as never)
      .where('endpoint', '=', endpoint)
      .where('bucket_start', '>=', from)
      .groupBy('variant')
      .orderBy('variant')
      .execute();
    return (rows as StatsRow[]).map((r) => ({
      variant: String(r.variant),
      requests: Number(r.requests),
      errors4xx: Number(r.errors_4xx),
      errors5xx: Number(r.errors_5xx),
      modelErrors: Number(r.model_errors),
      latencySumMs: Number(r.latency_sum_ms),
      latency: LATENCY_COLUMNS.map((col) => Number(r[col])),
    }));
  }

  /** Deletes time buckets that started before `before`; answers how many rows went. */
  async prune(before: number): Promise<number> {
    const res = await this.k.deleteFrom('serving_variant_stats').where('bucket_start', '<', before).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /** Deletes an endpoint's statistics (when the endpoint is deleted). */
  async forget(endpoint: string): Promise<void> {
    await this.k.deleteFrom('serving_variant_stats').where('endpoint', '=', endpoint).execute();
  }
}
