import type { Kysely, Migration } from 'kysely';

/** Latency buckets of `serving/latency-histogram.ts`, one column each; fixed once applied. */
const LATENCY_COLUMNS = 17;

/**
 * Per-variant request statistics by time bucket: every serving process adds its counts to the same
 * row (an upsert that sums), so a reader sees the traffic of all processes (docs/serving.md).
 */
export const servingVariantStats: Migration = {
  async up(db: Kysely<any>) {
    let table = db.schema
      .createTable('serving_variant_stats')
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('variant', 'text', (c) => c.notNull())
      .addColumn('bucket_start', 'bigint', (c) => c.notNull())
      .addColumn('requests', 'bigint', (c) => c.notNull())
      .addColumn('errors_4xx', 'bigint', (c) => c.notNull())
      .addColumn('errors_5xx', 'bigint', (c) => c.notNull())
      .addColumn('model_errors', 'bigint', (c) => c.notNull())
      .addColumn('latency_sum_ms', 'double precision', (c) => c.notNull());
    for (let i = 0; i < LATENCY_COLUMNS; i++) table = table.addColumn(`latency_${String(i).padStart(2, '0')}`, 'bigint', (c) => c.notNull());
    await table.addPrimaryKeyConstraint('serving_variant_stats_pkey', ['endpoint', 'variant', 'bucket_start']).execute();
    await db.schema.createIndex('serving_variant_stats_bucket_idx').on('serving_variant_stats').column('bucket_start').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('serving_variant_stats').execute();
  },
};
