import type { Kysely, Migration } from 'kysely';

/**
 * Output-score histograms per endpoint, variant and time bucket, one row per serving process
 * (`writer`), which replaces its row with its running counts on each flush; quality alarms sum the
 * rows of every process over their window (docs/serving.md, Rollouts).
 */
export const rolloutScoreHistograms: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('rollout_score_histograms')
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('variant', 'text', (c) => c.notNull())
      .addColumn('bucket_start', 'bigint', (c) => c.notNull())
      .addColumn('writer', 'text', (c) => c.notNull())
      .addColumn('total', 'bigint', (c) => c.notNull())
      .addColumn('counts', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('rollout_score_histograms_pkey', ['endpoint', 'variant', 'bucket_start', 'writer'])
      .execute();
    await db.schema.createIndex('rollout_score_histograms_bucket_idx').on('rollout_score_histograms').column('bucket_start').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('rollout_score_histograms').execute();
  },
};
