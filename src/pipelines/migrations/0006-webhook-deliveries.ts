import type { Kysely, Migration } from 'kysely';

/** Webhook deliveries already acted on, so a replayed signed request starts nothing (expired rows are purged). */
export const webhookDeliveries: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('pipeline_webhook_deliveries')
      // `<kind>:<pipeline>/<trigger>/<id>`: kind `swh` (webhook-id), `github`, `github-sig`, `gitlab`, `gitlab-event`,
      // or the deprecated scheme's `sig` (its MAC) and `delivery` (X-Capstan-Delivery).
      .addColumn('delivery_key', 'text', (c) => c.primaryKey())
      .addColumn('pipeline', 'text', (c) => c.notNull())
      .addColumn('trigger', 'text', (c) => c.notNull())
      .addColumn('execution_id', 'text')
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('pipeline_webhook_deliveries_expiry').on('pipeline_webhook_deliveries').column('expires_at').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('pipeline_webhook_deliveries').execute();
  },
};
