import type { Kysely, Migration } from 'kysely';

/** Serving tables: real-time endpoints and their applied configuration. */
export const serving: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('endpoints')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('status_reason', 'text')
      // JSON: { variants: StoredVariant[], dataCapture } — only ever a configuration that loaded.
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('endpoints').execute();
  },
};
