import type { Kysely, Migration } from 'kysely';

/**
 * Feature store metadata: entities, feature group versions (the definition as JSON text) and the
 * materialization watermark of each group version. The values live in the offline store (Parquet in
 * the artifact store) and the online store (its own SQLite file or Redis), never here.
 */
export const featuresTables: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('feature_entities')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('join_keys', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('feature_groups')
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('definition', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('feature_groups_pkey', ['name', 'version'])
      .execute();
    await db.schema
      .createTable('feature_materializations')
      .addColumn('group_name', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('watermark_ms', 'bigint', (c) => c.notNull())
      .addColumn('newest_event_ms', 'bigint')
      .addColumn('rows_written', 'bigint', (c) => c.notNull())
      .addColumn('materialized_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('feature_materializations_pkey', ['group_name', 'version'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('feature_materializations').execute();
    await db.schema.dropTable('feature_groups').execute();
    await db.schema.dropTable('feature_entities').execute();
  },
};
