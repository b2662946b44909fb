import type { Kysely, Migration } from 'kysely';

/** Notification subscriptions (targets with sealed secrets) and their delivery log. */
export const notificationTables: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('notification_subscriptions')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('events', 'text', (c) => c.notNull())
      .addColumn('target_type', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('sealed_secret', 'text')
      .addColumn('console_url', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('notification_deliveries')
      .addColumn('subscription', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('subject', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('status_code', 'integer')
      .addColumn('error', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('notification_deliveries_pk', ['subscription', 'event_id'])
      .execute();
    await db.schema.createIndex('notification_deliveries_log').on('notification_deliveries').columns(['subscription', 'updated_at']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('notification_deliveries').execute();
    await db.schema.dropTable('notification_subscriptions').execute();
  },
};
