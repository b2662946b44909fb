/**
 * The durable event outbox: `appendEvent` inside a change's transaction, `OutboxDispatcher` to
 * deliver to named subscriptions in any process (docs/decisions/0009-event-outbox.md).
 */
export { appendEvent, OutboxStore, type ClaimedDelivery, type DeliveryState, type OutboxDelivery, type OutboxTables } from './outbox-store.js';
export { OutboxDispatcher, type OutboxCrashPoint, type OutboxDispatcherOptions } from './outbox-dispatcher.js';
export { matchesPattern, toDomainEvent, type NewOutboxEvent, type OutboxEvent, type OutboxHandler } from './outbox-event.js';
