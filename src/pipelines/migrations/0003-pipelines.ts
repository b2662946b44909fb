import type { Kysely, Migration } from 'kysely';

/** Pipelines: definitions, executions with their steps, step logs, triggers and seen trigger objects. */
export const pipelines: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('pipelines')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('definition', 'text', (c) => c.notNull())
      .addColumn('source', 'text')
      .addColumn('code_prefix', 'text')
      .addColumn('code_digest', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('pipeline_executions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('pipeline', 'text', (c) => c.notNull())
      .addColumn('pipeline_version', 'integer', (c) => c.notNull())
      .addColumn('definition', 'text', (c) => c.notNull())
      .addColumn('code_prefix', 'text')
      .addColumn('code_digest', 'text')
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('trigger', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('lease_owner', 'text')
      .addColumn('lease_expires_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('started_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .execute();
    await db.schema.createIndex('pipeline_executions_pipeline').on('pipeline_executions').columns(['pipeline', 'created_at']).execute();
    await db.schema.createIndex('pipeline_executions_claim').on('pipeline_executions').columns(['state', 'lease_expires_at']).execute();

    await db.schema
      .createTable('pipeline_steps')
      .addColumn('execution_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'bigint')
      .addColumn('cache_key', 'text')
      .addColumn('cached_from', 'text')
      .addColumn('outputs', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('properties', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('metrics', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('warnings', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('error_code', 'text')
      .addColumn('error', 'text')
      .addColumn('started_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('pipeline_steps_pk', ['execution_id', 'name'])
      .execute();
    await db.schema.createIndex('pipeline_steps_cache').on('pipeline_steps').columns(['cache_key', 'state']).execute();

    await db.schema
      .createTable('pipeline_step_logs')
      .addColumn('execution_id', 'text', (c) => c.notNull())
      .addColumn('pipeline', 'text', (c) => c.notNull())
      .addColumn('step', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('stream', 'text', (c) => c.notNull())
      .addColumn('line', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('pipeline_step_logs_pk', ['execution_id', 'step', 'attempt', 'seq'])
      .execute();
    await db.schema.createIndex('pipeline_step_logs_search').on('pipeline_step_logs').columns(['pipeline', 'at']).execute();

    await db.schema
      .createTable('pipeline_triggers')
      .addColumn('pipeline', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('secret', 'text')
      .addColumn('last_fired_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('pipeline_triggers_pk', ['pipeline', 'name'])
      .execute();

    await db.schema
      .createTable('pipeline_trigger_objects')
      .addColumn('pipeline', 'text', (c) => c.notNull())
      .addColumn('trigger', 'text', (c) => c.notNull())
      .addColumn('object_key', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('execution_id', 'text')
      .addColumn('seen_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('pipeline_trigger_objects_pk', ['pipeline', 'trigger', 'object_key'])
      .execute();
  },
  async down(db: Kysely<any>) {
    for (const t of ['pipeline_trigger_objects', 'pipeline_triggers', 'pipeline_step_logs', 'pipeline_steps', 'pipeline_executions', 'pipelines']) {
      await db.schema.dropTable(t).execute();
    }
  },
};
