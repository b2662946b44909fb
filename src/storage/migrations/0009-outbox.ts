import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/**
 * The durable event outbox (docs/decisions/0009-event-outbox.md): domain events appended in the
 * transaction of the change that raised them, the named subscriptions that receive them, and one
 * delivery row per event and subscription, which a dispatcher in any process claims with a lease.
 */
export const outbox: Migration = {
  async up(db: Kysely<any>) {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    // The sequence orders delivery; SQLite's integer primary key is its rowid, PostgreSQL needs a serial.
    await db.schema
      .createTable('outbox_events')
      .addColumn('seq', postgres ? sql`bigserial` : 'integer', (c) => c.primaryKey())
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('subject', 'text')
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('occurred_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('outbox_events_occurred').on('outbox_events').column('occurred_at').execute();
    await db.schema
      .createTable('outbox_subscriptions')
      .addColumn('name', 'text', (c) => c.primaryKey())
      // JSON list of event types, `prefix.*` wildcards or `*`.
      .addColumn('patterns', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('outbox_deliveries')
      .addColumn('subscription', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull().references('outbox_events.id').onDelete('cascade'))
      .addColumn('event_seq', 'bigint', (c) => c.notNull())
      // pending | delivered | dead
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('lease_token', 'text')
      .addColumn('lease_expires_at', 'bigint')
      .addColumn('last_error', 'text')
      .addColumn('delivered_at', 'bigint')
      .addPrimaryKeyConstraint('outbox_deliveries_pk', ['subscription', 'event_id'])
      .execute();
    await db.schema.createIndex('outbox_deliveries_ready').on('outbox_deliveries').columns(['state', 'subscription', 'next_attempt_at']).execute();
    await db.schema.createIndex('outbox_deliveries_event').on('outbox_deliveries').column('event_id').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('outbox_deliveries').execute();
    await db.schema.dropTable('outbox_subscriptions').execute();
    await db.schema.dropTable('outbox_events').execute();
  },
};
