import type { Kysely, Migration } from 'kysely';

/**
 * Use cases, their versions, one record per decision (with its point-in-time snapshot as JSON text),
 * asynchronous requests, and the alert state per use case (docs/decisions.md).
 */
export const decisionsTables: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('decision_usecases')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('latest_version', 'integer', (c) => c.notNull())
      .addColumn('active_version', 'integer')
      .addColumn('challenger_version', 'integer')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('decision_versions')
      .addColumn('usecase', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('definition', 'text', (c) => c.notNull())
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('decision_versions_pkey', ['usecase', 'version'])
      .execute();
    await db.schema
      .createTable('decision_records')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('usecase', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('subject', 'text')
      .addColumn('paired_with', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text')
      .addColumn('latency_ms', 'double precision', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('snapshot', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('decision_records_usecase_idx').on('decision_records').columns(['usecase', 'created_at']).execute();
    await db.schema.createIndex('decision_records_subject_idx').on('decision_records').columns(['usecase', 'subject', 'created_at']).execute();
    await db.schema
      .createTable('decision_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('usecase', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('record_id', 'text')
      .addColumn('error', 'text')
      .addColumn('callback_url', 'text')
      .addColumn('callback_secret', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint')
      .execute();
    await db.schema
      .createTable('decision_alerts')
      .addColumn('usecase', 'text', (c) => c.primaryKey())
      .addColumn('firing', 'integer', (c) => c.notNull())
      .addColumn('changed_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    for (const t of ['decision_alerts', 'decision_requests', 'decision_records', 'decision_versions', 'decision_usecases']) await db.schema.dropTable(t).execute();
  },
};
