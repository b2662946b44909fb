import type { Kysely, Migration } from 'kysely';

/**
 * Batch transform jobs, their shards (one queue job each, committed once), their log lines, and
 * asynchronous invocations with their per-endpoint settings (docs/batch.md, docs/serving.md). Times are epoch ms; options and notifications are JSON text.
 */
export const batchTables: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('batch_jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('model_ref', 'text', (c) => c.notNull())
      .addColumn('model_name', 'text')
      .addColumn('model_version', 'integer')
      .addColumn('input_uri', 'text', (c) => c.notNull())
      .addColumn('output_uri', 'text', (c) => c.notNull())
      .addColumn('options', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('shards_total', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('shards_done', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('records_total', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('records_done', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('records_failed', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('failure_reason', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('client_token', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('started_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .execute();
    await db.schema.createIndex('batch_jobs_client_token_idx').on('batch_jobs').column('client_token').unique().execute();
    await db.schema.createIndex('batch_jobs_created_idx').on('batch_jobs').column('created_at').execute();
    await db.schema
      .createTable('batch_shards')
      .addColumn('job_id', 'text', (c) => c.notNull())
      .addColumn('shard', 'integer', (c) => c.notNull())
      .addColumn('file_index', 'integer', (c) => c.notNull())
      .addColumn('first_line', 'bigint', (c) => c.notNull())
      .addColumn('records', 'integer', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('committed_at', 'bigint')
      .addPrimaryKeyConstraint('batch_shards_pkey', ['job_id', 'shard'])
      .execute();
    await db.schema
      .createTable('batch_job_logs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('job_id', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('batch_job_logs_job_idx').on('batch_job_logs').columns(['job_id', 'id']).execute();
    await db.schema
      .createTable('async_invocations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('inference_id', 'text', (c) => c.notNull())
      .addColumn('input_key', 'text', (c) => c.notNull())
      .addColumn('input_inline', 'text')
      .addColumn('output_key', 'text', (c) => c.notNull())
      .addColumn('failure_key', 'text', (c) => c.notNull())
      .addColumn('content_type', 'text', (c) => c.notNull())
      .addColumn('accept', 'text')
      .addColumn('custom_attributes', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('timeout_ms', 'integer', (c) => c.notNull())
      .addColumn('notification', 'text')
      .addColumn('failure_reason', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint')
      .execute();
    await db.schema.createIndex('async_invocations_endpoint_idx').on('async_invocations').columns(['endpoint', 'state']).execute();
    await db.schema.createIndex('async_invocations_inference_idx').on('async_invocations').columns(['endpoint', 'inference_id']).unique().execute();
    await db.schema
      .createTable('async_endpoint_configs')
      .addColumn('endpoint', 'text', (c) => c.primaryKey())
      .addColumn('max_concurrency', 'integer', (c) => c.notNull())
      .addColumn('output_prefix', 'text')
      .addColumn('failure_prefix', 'text')
      .addColumn('notification', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    for (const t of ['async_endpoint_configs', 'async_invocations', 'batch_job_logs', 'batch_shards', 'batch_jobs']) await db.schema.dropTable(t).execute();
  },
};
