import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { systemClock, type Clock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { parseJson, type Database } from '../database.js';
import { describeError } from '../queue/retry-policy.js';
import { matchesPattern, type NewOutboxEvent, type OutboxEvent } from './outbox-event.js';

/** The outbox tables (migration 0009). */
export interface OutboxTables {
  outbox_events: { seq: number; id: string; type: string; subject: string | null; payload: string; occurred_at: number };
  outbox_subscriptions: { name: string; patterns: string; created_at: number; updated_at: number };
  outbox_deliveries: {
    subscription: string;
    event_id: string;
    event_seq: number;
    state: DeliveryState;
    attempts: number;
    next_attempt_at: number;
    lease_token: string | null;
    lease_expires_at: number | null;
    last_error: string | null;
    delivered_at: number | null;
  };
}

/** Where one event stands for one subscription. */
export type DeliveryState = 'pending' | 'delivered' | 'dead';

/** One delivery as `deliveries()` shows it. */
export interface OutboxDelivery {
  subscription: string;
  eventId: string;
  state: DeliveryState;
  attempts: number;
  lastError: string | null;
}

/** A delivery a dispatcher holds a lease on. */
export interface ClaimedDelivery {
  event: OutboxEvent;
  subscription: string;
  /** 1 for the first attempt; an expired lease counts as an attempt. */
  attempt: number;
  token: string;
}

const q = (t: Kysely<any>) => t as Kysely<OutboxTables>;

/** PostgreSQL channel an append NOTIFYs at commit, so dispatchers in other processes wake at once. */
export const OUTBOX_CHANNEL = 'capstan_outbox';

/**
 * Appends a domain event inside the caller's transaction, with one pending delivery per
 * subscription whose patterns match it: the event and its deliveries commit if and only if the
 * change that raised it commits. Subscriptions registered later do not receive it.
 */
export async function appendEvent(trx: Kysely<any>, input: NewOutboxEvent, clock: Clock = systemClock): Promise<OutboxEvent> {
  const now = clock.now();
  const occurredAt = input.occurredAt ?? now;
  const id = input.id ?? newId('evt', occurredAt);
  const subject = input.subject ?? null;
  const { seq } = await q(trx)
    .insertInto('outbox_events')
    .values({ id, type: input.type, subject, payload: JSON.stringify(input.data), occurred_at: occurredAt } as never)
    .returning('seq')
    .executeTakeFirstOrThrow();
  const subscriptions = await q(trx).selectFrom('outbox_subscriptions').select(['name', 'patterns']).execute();
  const rows = subscriptions
    .filter((s) => parseJson<string[]>(s.patterns, []).some((p) => matchesPattern(input.type, p)))
    .map((s) => ({ subscription: s.name, event_id: id, event_seq: Number(seq), state: 'pending' as const, attempts: 0, next_attempt_at: now, lease_token: null, lease_expires_at: null, last_error: null, delivered_at: null }));
  if (rows.length) await q(trx).insertInto('outbox_deliveries').values(rows).execute();
  // PostgreSQL holds the notification until commit and drops it on rollback; SQLite dispatchers poll.
  if (rows.length && trx.getExecutor().adapter instanceof PostgresAdapter) await sql`select pg_notify(${OUTBOX_CHANNEL}, '')`.execute(trx);
  return { id, type: input.type, subject, time: new Date(occurredAt).toISOString(), data: input.data, seq: Number(seq) };
}

/**
 * The outbox's deliveries on the metadata DB, with the queue's lease discipline: a claim takes a
 * lease that a crash lets expire, so another dispatcher claims the delivery again (at least once).
 * On PostgreSQL claims use `FOR UPDATE SKIP LOCKED`; on SQLite the claim runs in a `BEGIN IMMEDIATE`
 * transaction, which serialises claimers across processes.
 */
export class OutboxStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock = systemClock,
  ) {}

  private get k(): Kysely<OutboxTables> {
    return this.db.as<OutboxTables>();
  }

  /** On PostgreSQL, calls `onNotify` whenever an append commits (see `Database.listen`); undefined on SQLite. */
  listen(onNotify: () => void, onError: (err: Error) => void): Promise<() => Promise<void>> | undefined {
    return this.db.listen?.(OUTBOX_CHANNEL, onNotify, onError);
  }

  /** Creates or updates a named subscription; events appended from now on that match get a delivery for it. */
  async register(name: string, patterns: readonly string[]): Promise<void> {
    const now = this.clock.now();
    const text = JSON.stringify([...new Set(patterns)].sort());
    await this.k
      .insertInto('outbox_subscriptions')
      .values({ name, patterns: text, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ patterns: text, updated_at: now }).where('outbox_subscriptions.patterns', '<>', text))
      .execute();
  }

  /** Claims up to `limit` ready deliveries of these subscriptions, oldest event first, for `leaseMs`. */
  async claim(subscriptions: readonly string[], limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    if (subscriptions.length === 0) return [];
    const token = newId('lease');
    const now = this.clock.now();
    const ready = (t: Kysely<OutboxTables>) =>
      t
        .selectFrom('outbox_deliveries')
        .select(['subscription', 'event_id', 'attempts'])
        .where('state', '=', 'pending')
        .where('subscription', 'in', [...subscriptions])
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<=', now)]));
    // An idle poll only reads: on SQLite the claiming transaction takes the write lock, which every
    // process polling would otherwise take several times a second for nothing.
    if (!(await ready(this.k).limit(1).executeTakeFirst())) return [];
    const picked = await this.db.transaction(async (anyTrx) => {
      const trx = q(anyTrx);
      let pick = ready(trx).orderBy('event_seq').orderBy('subscription').limit(limit);
      if (this.db.dialect === 'postgres') pick = pick.forUpdate().skipLocked();
      const rows = await pick.execute();
      for (const r of rows) {
        await trx
          .updateTable('outbox_deliveries')
          .set({ lease_token: token, lease_expires_at: now + leaseMs, attempts: Number(r.attempts) + 1 })
          .where('subscription', '=', r.subscription)
          .where('event_id', '=', r.event_id)
          .execute();
      }
      return rows;
    });
    if (picked.length === 0) return [];
    const events = await this.k.selectFrom('outbox_events').selectAll().where('id', 'in', [...new Set(picked.map((p) => p.event_id))]).execute();
    const byId = new Map(events.map((e) => [e.id, e]));
    return picked.flatMap((p) => {
      const e = byId.get(p.event_id);
      if (!e) return [];
      const event: OutboxEvent = { id: e.id, type: e.type, subject: e.subject, time: new Date(Number(e.occurred_at)).toISOString(), data: parseJson(e.payload, {}), seq: Number(e.seq) };
      return [{ event, subscription: p.subscription, attempt: Number(p.attempts) + 1, token }];
    });
  }

  /** Marks a claimed delivery done; false when its lease was lost meanwhile (another dispatcher has it). */
  async ack(claim: ClaimedDelivery): Promise<boolean> {
    const r = await this.k
      .updateTable('outbox_deliveries')
      .set({ state: 'delivered', delivered_at: this.clock.now(), lease_token: null, lease_expires_at: null, last_error: null })
      .where('subscription', '=', claim.subscription)
      .where('event_id', '=', claim.event.id)
      .where('lease_token', '=', claim.token)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Records a failed attempt: retried at `retryAt`, or `dead` when `retryAt` is null. */
  async fail(claim: ClaimedDelivery, error: unknown, retryAt: number | null): Promise<void> {
    await this.k
      .updateTable('outbox_deliveries')
      .set({ state: retryAt === null ? 'dead' : 'pending', next_attempt_at: retryAt ?? this.clock.now(), lease_token: null, lease_expires_at: null, last_error: describeError(error) })
      .where('subscription', '=', claim.subscription)
      .where('event_id', '=', claim.event.id)
      .where('lease_token', '=', claim.token)
      .execute();
  }

  /** Deliveries of one event (or of every event), for inspection and tests. */
  async deliveries(eventId?: string): Promise<OutboxDelivery[]> {
    let sel = this.k.selectFrom('outbox_deliveries').select(['subscription', 'event_id', 'state', 'attempts', 'last_error']).orderBy('event_seq').orderBy('subscription');
    if (eventId !== undefined) sel = sel.where('event_id', '=', eventId);
    return (await sel.execute()).map((r) => ({ subscription: r.subscription, eventId: r.event_id, state: r.state, attempts: Number(r.attempts), lastError: r.last_error }));
  }

  /** Events in append order, optionally of one type, for inspection and tests. */
  async events(type?: string): Promise<OutboxEvent[]> {
    let sel = this.k.selectFrom('outbox_events').selectAll().orderBy('seq');
    if (type !== undefined) sel = sel.where('type', '=', type);
    return (await sel.execute()).map((e) => ({ id: e.id, type: e.type, subject: e.subject, time: new Date(Number(e.occurred_at)).toISOString(), data: parseJson(e.payload, {}), seq: Number(e.seq) }));
  }

  /**
   * Deletes events older than `retentionMs` with their deliveries. A delivery still pending by then
   * belongs to a subscription no process serves any more; it is dropped too, and counted.
   */
  async prune(retentionMs: number): Promise<{ events: number; undelivered: number }> {
    const cutoff = this.clock.now() - retentionMs;
    return this.db.transaction(async (anyTrx) => {
      const trx = q(anyTrx);
      const old = trx.selectFrom('outbox_events').select('id').where('occurred_at', '<', cutoff);
      const pending = await trx.selectFrom('outbox_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).where('state', '=', 'pending').where('event_id', 'in', old).executeTakeFirstOrThrow();
      await trx.deleteFrom('outbox_deliveries').where('event_id', 'in', old).execute();
      const r = await trx.deleteFrom('outbox_events').where('occurred_at', '<', cutoff).executeTakeFirst();
      return { events: Number(r.numDeletedRows), undelivered: Number(pending.n) };
    });
  }
}
