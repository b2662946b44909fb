import type { Kysely, Migration } from 'kysely';

/**
 * Registrations in progress: a row per reserved version number whose package is being copied, with
 * the process that copies it, so a restart removes exactly the packages of registrations whose
 * process died instead of guessing from the age of their files (docs/registry.md).
 */
export const modelRegistrations: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('model_registrations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('model_id', 'text', (c) => c.notNull().references('model_groups.id').onDelete('cascade'))
      .addColumn('version', 'integer', (c) => c.notNull())
      // `host:pid:token` of the registering process.
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('model_registrations_version_key', ['model_id', 'version'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('model_registrations').execute();
  },
};
