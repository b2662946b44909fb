import type { Kysely, Migration } from 'kysely';

/**
 * Deployments (one row per rollout, its history as JSON) and auto-deploy policies. `active_endpoint`
 * holds the endpoint's name while a deployment is Running or Paused and NULL after, so a unique
 * index allows one active deployment per endpoint on SQLite and PostgreSQL alike.
 */
export const rollouts: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('deployments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('active_endpoint', 'text', (c) => c.unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('phase', 'text', (c) => c.notNull())
      .addColumn('policy', 'text', (c) => c.notNull())
      .addColumn('blue', 'text', (c) => c.notNull())
      .addColumn('green', 'text', (c) => c.notNull())
      .addColumn('step', 'integer', (c) => c.notNull())
      .addColumn('green_percent', 'double precision', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('step_started_at', 'bigint', (c) => c.notNull())
      .addColumn('last_eval_at', 'bigint')
      .addColumn('finished_at', 'bigint')
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('steps', 'text', (c) => c.notNull())
      .addColumn('evaluations', 'text', (c) => c.notNull())
      .addColumn('alarm', 'text')
      .addColumn('reason', 'text')
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'bigint')
      .execute();
    await db.schema.createIndex('deployments_endpoint_idx').on('deployments').columns(['endpoint', 'started_at']).execute();
    await db.schema
      .createTable('auto_deploy_policies')
      .addColumn('model', 'text', (c) => c.primaryKey())
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('policy', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('auto_deploy_policies').execute();
    await db.schema.dropTable('deployments').execute();
  },
};
