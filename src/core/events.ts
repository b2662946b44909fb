/**
 * The in-process event bus. Contexts publish domain events (`model_version.created`, …) and other
 * contexts subscribe (auto-deploy, webhooks) without importing each other's internals.
 * Delivery beyond the process goes through the durable queue (webhooks), not through this bus.
 */

/** One domain event. `type` is dotted (`model_version.approved`); `data` is JSON-serialisable. */
export interface DomainEvent<T = Record<string, unknown>> {
  id: string;
  type: string;
  time: string;
  data: T;
}

/** A subscriber; errors it throws are reported to the bus's error handler, never to the publisher. */
export type EventHandler = (event: DomainEvent) => void | Promise<void>;

/** A small typed pub/sub with wildcard (`model_version.*`, `*`) subscriptions. */
export class EventBus {
  private readonly handlers = new Map<string, Set<EventHandler>>();

  constructor(private readonly onError: (err: unknown, event: DomainEvent) => void = () => {}) {}

  /** Subscribes to a type, a `prefix.*` wildcard or `*`; returns the unsubscribe function. */
  subscribe(pattern: string, handler: EventHandler): () => void {
    let set = this.handlers.get(pattern);
    if (!set) this.handlers.set(pattern, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Publishes to every matching subscriber and waits for them all; subscriber failures are isolated. */
  async publish(event: DomainEvent): Promise<void> {
    const dot = event.type.indexOf('.');
    const patterns = ['*', event.type];
    if (dot > 0) patterns.push(`${event.type.slice(0, dot)}.*`);
    const calls: Promise<void>[] = [];
    for (const p of patterns) {
      for (const h of this.handlers.get(p) ?? []) {
        calls.push(
          Promise.resolve()
            .then(() => h(event))
            .catch((err) => this.onError(err, event)),
        );
      }
    }
    await Promise.all(calls);
  }
}
