import type { Kysely, Migration } from 'kysely';

/**
 * Cross-process coordination of the offline store: a lease per group version (ingestions and
 * materializations of one group version run one at a time across every process sharing the
 * database, so two read-merge-publish cycles never overwrite each other's partition), and the time
 * of each group version's newest ingestion (the materialization sweep compares it with the watermark).
 */
export const featureLeases: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('feature_leases')
      .addColumn('lease_key', 'text', (c) => c.primaryKey())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('feature_ingest_marks')
      .addColumn('group_name', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('ingested_ms', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('feature_ingest_marks_pkey', ['group_name', 'version'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('feature_ingest_marks').execute();
    await db.schema.dropTable('feature_leases').execute();
  },
};
