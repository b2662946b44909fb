import type { Kysely, Migration } from 'kysely';

/**
 * Which variant answered each invocation that carried an inference id, and the outcomes callers
 * report for them (reward or label), for A/B reports.
 */
export const rolloutFeedback: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('inference_assignments')
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('inference_id', 'text', (c) => c.notNull())
      .addColumn('variant', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('inference_assignments_pkey', ['endpoint', 'inference_id'])
      .execute();
    await db.schema
      .createTable('inference_feedback')
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('inference_id', 'text', (c) => c.notNull())
      .addColumn('variant', 'text', (c) => c.notNull())
      .addColumn('reward', 'double precision')
      .addColumn('label', 'text')
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('inference_feedback_pkey', ['endpoint', 'inference_id'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('inference_feedback').execute();
    await db.schema.dropTable('inference_assignments').execute();
  },
};
