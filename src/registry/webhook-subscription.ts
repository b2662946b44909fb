import type { Database } from '../storage/database.js';
import { toDomainEvent, type OutboxHandler } from '../storage/outbox/index.js';
import type { SqlWebhookStore } from './sql-webhook-store.js';

/** Name of the outbox subscription that feeds registry webhooks. */
export const WEBHOOK_SUBSCRIPTION = 'registry.webhooks';

/**
 * The outbox subscriber behind registry webhooks: each `model_version.*` event becomes one
 * `webhook.deliver` job per matching webhook. The job's idempotency key is webhook id + event id, so
 * an event the outbox delivers twice (a crash before its acknowledgement) enqueues each job once.
 */
export function webhookSubscription(webhooks: SqlWebhookStore, db: Database): { name: string; patterns: string[]; handler: OutboxHandler } {
  return {
    name: WEBHOOK_SUBSCRIPTION,
    patterns: ['model_version.*'],
    handler: async (event) => {
      await db.transaction((t) => webhooks.enqueueDeliveries(t, toDomainEvent(event)));
    },
  };
}
