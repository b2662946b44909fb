import { CapstanError } from '../core/errors.js';
import type { Database } from '../storage/database.js';

interface SubRow {
  name: string;
  events: string;
  target_type: string;
  target: string;
  sealed_secret: string | null;
  console_url: string | null;
  created_at: number;
  updated_at: number;
}

interface DeliveryRow {
  subscription: string;
  event_id: string;
  event_type: string;
  subject: string | null;
  state: string;
  attempts: number;
  status_code: number | null;
  error: string | null;
  created_at: number;
  updated_at: number;
}

interface Tables {
  notification_subscriptions: SubRow;
  notification_deliveries: DeliveryRow;
}

/** A stored subscription: the target without its secret, and the sealed secret apart. */
export interface StoredSubscription {
  name: string;
  events: string[];
  /** `{ type: 'slack' }`, `{ type: 'webhook', url }`, `{ type: 'nats', subject, servers }`. */
  target: Record<string, string>;
  sealedSecret: string | null;
  consoleUrl: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One line of a subscription's delivery log. */
export interface NotificationDelivery {
  subscription: string;
  eventId: string;
  eventType: string;
  subject: string | null;
  /** `delivered`, `failed` (will be retried) or `dead` (gave up). */
  state: string;
  attempts: number;
  statusCode: number | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (t: number) => new Date(Number(t)).toISOString();

function toSub(r: SubRow): StoredSubscription {
  return { name: r.name, events: JSON.parse(r.events) as string[], target: JSON.parse(r.target) as Record<string, string>, sealedSecret: r.sealed_secret, consoleUrl: r.console_url, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at) };
}

function toDelivery(r: DeliveryRow): NotificationDelivery {
  return { subscription: r.subscription, eventId: r.event_id, eventType: r.event_type, subject: r.subject, state: r.state, attempts: Number(r.attempts), statusCode: r.status_code, error: r.error, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at) };
}

/** Subscriptions and the delivery log. */
export class SqlNotificationStore {
  constructor(private readonly db: Database) {}

  private get k() {
    return this.db.as<Tables>();
  }

  /** Every subscription, by name. */
  async list(): Promise<StoredSubscription[]> {
    return (await this.k.selectFrom('notification_subscriptions').selectAll().orderBy('name').execute()).map(toSub);
  }

  /** One subscription, or undefined. */
  async find(name: string): Promise<StoredSubscription | undefined> {
    const r = await this.k.selectFrom('notification_subscriptions').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? toSub(r) : undefined;
  }

  /** One subscription; CAPSTAN_NOTIFICATION_NOT_FOUND when missing. */
  async get(name: string): Promise<StoredSubscription> {
    const s = await this.find(name);
    if (!s) throw new CapstanError('CAPSTAN_NOTIFICATION_NOT_FOUND', `no notification subscription ${JSON.stringify(name)}`, { fields: { name } });
    return s;
  }

  /** Creates or replaces a subscription. */
  async upsert(s: { name: string; events: string[]; target: Record<string, string>; sealedSecret: string | null; consoleUrl: string | null }): Promise<void> {
    const now = Date.now();
    const values = { events: JSON.stringify(s.events), target_type: s.target.type, target: JSON.stringify(s.target), sealed_secret: s.sealedSecret, console_url: s.consoleUrl, updated_at: now };
    await this.k
      .insertInto('notification_subscriptions')
      .values({ name: s.name, ...values, created_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet(values))
      .execute();
  }

  /** Deletes a subscription and its log. */
  async delete(name: string): Promise<void> {
    await this.get(name);
    await this.k.deleteFrom('notification_deliveries').where('subscription', '=', name).execute();
    await this.k.deleteFrom('notification_subscriptions').where('name', '=', name).execute();
  }

  /** The delivery of one event to one subscription, or undefined. */
  async delivery(subscription: string, eventId: string): Promise<NotificationDelivery | undefined> {
    const r = await this.k.selectFrom('notification_deliveries').selectAll().where('subscription', '=', subscription).where('event_id', '=', eventId).executeTakeFirst();
    return r ? toDelivery(r) : undefined;
  }

  /** Records an attempt (creating the log line on the first). */
  async record(d: { subscription: string; eventId: string; eventType: string; subject: string | null; state: string; attempts: number; statusCode: number | null; error: string | null }): Promise<void> {
    const now = Date.now();
    const values = { state: d.state, attempts: d.attempts, status_code: d.statusCode, error: d.error, updated_at: now };
    await this.k
      .insertInto('notification_deliveries')
      .values({ subscription: d.subscription, event_id: d.eventId, event_type: d.eventType, subject: d.subject, ...values, created_at: now })
      .onConflict((oc) => oc.columns(['subscription', 'event_id']).doUpdateSet(values))
      .execute();
  }

  /** The newest deliveries of a subscription. */
  async log(subscription: string, limit = 50): Promise<NotificationDelivery[]> {
    return (await this.k.selectFrom('notification_deliveries').selectAll().where('subscription', '=', subscription).orderBy('updated_at', 'desc').limit(limit).execute()).map(toDelivery);
  }
}
