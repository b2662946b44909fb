import type { DomainEvent } from '../../core/events.js';

/** A domain event to append: `id` and `time` default to a new sortable id and now. */
export interface NewOutboxEvent {
  /** Stable id subscribers dedupe on; default a new `evt_…` id. */
  id?: string;
  /** Dotted type (`model_version.approved`). */
  type: string;
  /** What the event is about (`models/fraud/3`, `endpoints/ranker`); default none. */
  subject?: string | null;
  /** JSON-serialisable payload. */
  data: Record<string, unknown>;
  /** Epoch ms the change happened; default now. */
  occurredAt?: number;
}

/** A stored event as a subscriber receives it: a `DomainEvent` plus its subject and sequence. */
export interface OutboxEvent extends DomainEvent {
  subject: string | null;
  /** Position in the outbox, increasing in append order. */
  seq: number;
}

/** Called with each event a subscription matches; throwing makes the dispatcher retry it later. */
export type OutboxHandler = (event: OutboxEvent, delivery: { attempt: number; subscription: string }) => Promise<void> | void;

/** True when `type` matches a subscription pattern: the type itself, `prefix.*` or `*`. */
export function matchesPattern(type: string, pattern: string): boolean {
  if (pattern === '*' || pattern === type) return true;
  return pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1));
}

/** The event without its outbox fields, in the shape webhook receivers and the in-process bus see. */
export function toDomainEvent(event: OutboxEvent): DomainEvent {
  return { id: event.id, type: event.type, time: event.time, data: event.data };
}
