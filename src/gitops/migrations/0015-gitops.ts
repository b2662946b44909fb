import type { Kysely, Migration } from 'kysely';

/** GitOps: resources applied from files (with their source), registered repositories and their sync history (a ModelGroup's autoDeploy is the rollouts context's policy). */
export const gitopsTables: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('gitops_resources')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('managed_set', 'text', (c) => c.notNull())
      .addColumn('source_file', 'text')
      .addColumn('source_repository', 'text')
      .addColumn('source_commit', 'text')
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('gitops_resources_pk', ['kind', 'name'])
      .execute();
    await db.schema.createIndex('gitops_resources_set').on('gitops_resources').column('managed_set').execute();

    await db.schema
      .createTable('gitops_repositories')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('sealed_url', 'text')
      .addColumn('branch', 'text', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('webhook_secret', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('status_reason', 'text')
      .addColumn('applied_commit', 'text')
      .addColumn('syncing_commit', 'text')
      .addColumn('sync_owner', 'text')
      .addColumn('sync_lease_until', 'bigint')
      .addColumn('sync_requested', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_sync_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('gitops_syncs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('repository', 'text', (c) => c.notNull())
      .addColumn('commit', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('summary', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint')
      .execute();

    await db.schema.createIndex('gitops_syncs_repository').on('gitops_syncs').columns(['repository', 'started_at']).execute();
  },
  async down(db: Kysely<any>) {
    for (const t of ['gitops_syncs', 'gitops_repositories', 'gitops_resources']) await db.schema.dropTable(t).execute();
  },
};
