import { createHash } from 'node:crypto';
import { CapstanError, isCapstanError } from '../core/errors.js';
import { assertOutboundUrl, type OutboundSettings } from '../core/outbound-guard.js';
import type { SecretBox } from '../core/secret-box.js';
import type { OutboxEvent, OutboxHandler } from '../storage/outbox/index.js';
import { matchesPattern } from '../storage/outbox/index.js';
import type { NotificationSender, OpenTarget } from './notification-sender.js';
import { KEEP, natsAsHttp, type NotificationSpec } from './notification-spec.js';
import type { NotificationDelivery, SqlNotificationStore, StoredSubscription } from './sql-notification-store.js';

/** A subscription as shown back: secrets replaced by a marker, plus a digest that changes when they do. */
export interface NotificationView {
  spec: NotificationSpec;
  /** sha256 over the secrets, so a plan can tell a changed secret without showing it. */
  secretDigest: string;
  createdAt: string;
  updatedAt: string;
}

/** Notification subscriptions: `kind: Notification` documents, their delivery and delivery log. */
export interface NotificationService {
  /** Checks the target against the outbound guard (CAPSTAN_NOTIFICATION_TARGET_REFUSED). */
  checkTarget(spec: NotificationSpec): Promise<void>;
  /** Creates or replaces a subscription; secrets given as the KEEP marker keep the stored ones. */
  apply(spec: NotificationSpec): Promise<void>;
  get(name: string): Promise<NotificationView>;
  list(): Promise<NotificationView[]>;
  delete(name: string): Promise<void>;
  /** The digest `get` would report for a spec (KEEP resolved against the stored secrets). */
  secretDigestOf(spec: NotificationSpec): Promise<string>;
  /** The newest deliveries of a subscription. */
  log(name: string, limit?: number): Promise<NotificationDelivery[]>;
}

type Secrets = { url?: string; secret?: string };

function secretsOf(spec: NotificationSpec): Secrets {
  const t = spec.target;
  if (t.type === 'slack') return { url: t.url, ...(t.secret ? { secret: t.secret } : {}) };
  if (t.type === 'webhook') return { secret: t.secret };
  return {};
}

const digest = (s: Secrets) => `sha256:${createHash('sha256').update(JSON.stringify([s.url ?? null, s.secret ?? null])).digest('hex')}`;

/** The subscription's service and its outbox subscriber. */
export class LocalNotifications implements NotificationService {
  constructor(
    private readonly store: SqlNotificationStore,
    private readonly box: SecretBox,
    private readonly sender: NotificationSender,
    private readonly outbound: OutboundSettings,
    private readonly maxAttempts: number,
  ) {}

  private open(s: StoredSubscription): Secrets {
    return s.sealedSecret ? (JSON.parse(this.box.open(s.sealedSecret, `notification:${s.name}`)) as Secrets) : {};
  }

  /** The secrets a spec means, with KEEP markers replaced by the stored values. */
  private async resolveSecrets(spec: NotificationSpec): Promise<Secrets> {
    const wanted = secretsOf(spec);
    if (wanted.url !== KEEP && wanted.secret !== KEEP) return wanted;
    const current = await this.store.find(spec.name);
    const stored = current && current.target.type === spec.target.type ? this.open(current) : undefined;
    if (!stored) throw new CapstanError('CAPSTAN_NOTIFICATION_INVALID', `notification ${spec.name}: ${KEEP} keeps a stored secret, but no ${spec.target.type} target is stored yet; give the secret`, { fields: { name: spec.name } });
    return { url: wanted.url === KEEP ? stored.url : wanted.url, secret: wanted.secret === KEEP ? stored.secret : wanted.secret };
  }

  async checkTarget(spec: NotificationSpec): Promise<void> {
    const t = spec.target;
    // A NATS server is checked like an HTTP host (its address class and allowHosts entry `host:port`).
    const url = t.type === 'nats' ? natsAsHttp(t.servers) : t.url === KEEP ? (await this.resolveSecrets(spec)).url : t.url;
    if (!url) return;
    try {
      await assertOutboundUrl(url, this.outbound, { purpose: 'notification URL' });
    } catch (err) {
      if (!isCapstanError(err)) throw err;
      // The URL of a Slack target is itself a secret: the refusal names the host only.
      throw new CapstanError('CAPSTAN_NOTIFICATION_TARGET_REFUSED', `notification ${spec.name}: the target address is refused (${err.message.replace(url, '<url>')})`, { cause: err, fields: { name: spec.name } });
    }
  }

  async apply(spec: NotificationSpec): Promise<void> {
    await this.checkTarget(spec);
    const secrets = await this.resolveSecrets(spec);
    const t = spec.target;
    const target: Record<string, string> = t.type === 'webhook' ? { type: 'webhook', url: t.url } : t.type === 'nats' ? { type: 'nats', subject: t.subject, servers: t.servers } : { type: 'slack' };
    const sealed = Object.keys(secrets).length ? this.box.seal(JSON.stringify(secrets), `notification:${spec.name}`) : null;
    await this.store.upsert({ name: spec.name, events: spec.events, target, sealedSecret: sealed, consoleUrl: spec.consoleUrl ?? null });
  }

  private view(s: StoredSubscription): NotificationView {
    const secrets = this.open(s);
    const t = s.target;
    const target: NotificationSpec['target'] =
      t.type === 'webhook' ? { type: 'webhook', url: t.url, secret: KEEP } : t.type === 'nats' ? { type: 'nats', subject: t.subject, servers: t.servers } : { type: 'slack', url: KEEP, ...(secrets.secret ? { secret: KEEP } : {}) };
    return { spec: { name: s.name, events: s.events, target, ...(s.consoleUrl ? { consoleUrl: s.consoleUrl } : {}) }, secretDigest: digest(secrets), createdAt: s.createdAt, updatedAt: s.updatedAt };
  }

  async get(name: string): Promise<NotificationView> {
    return this.view(await this.store.get(name));
  }

  async list(): Promise<NotificationView[]> {
    return (await this.store.list()).map((s) => this.view(s));
  }

  delete(name: string): Promise<void> {
    return this.store.delete(name);
  }

  async secretDigestOf(spec: NotificationSpec): Promise<string> {
    return digest(await this.resolveSecrets(spec));
  }

  async log(name: string, limit?: number): Promise<NotificationDelivery[]> {
    await this.store.get(name);
    return this.store.log(name, limit);
  }

  /**
   * The outbox subscriber: delivers an event to every matching subscription not yet delivered to
   * (the log dedupes redeliveries), recording each attempt. When any target failed it throws, so the
   * outbox retries the event with backoff; the retry skips the targets that already got it.
   */
  readonly handler: OutboxHandler = async (event: OutboxEvent, delivery) => {
    const failures: string[] = [];
    for (const s of await this.store.list()) {
      if (!s.events.some((p) => matchesPattern(event.type, p))) continue;
      const prior = await this.store.delivery(s.name, event.id);
      if (prior?.state === 'delivered' || prior?.state === 'dead') continue;
      const attempts = (prior?.attempts ?? 0) + 1;
      const base = { subscription: s.name, eventId: event.id, eventType: event.type, subject: event.subject, attempts };
      try {
        const secrets = this.open(s);
        const t = s.target;
        const target: OpenTarget = t.type === 'nats' ? { type: 'nats', subject: t.subject, servers: t.servers } : t.type === 'webhook' ? { type: 'webhook', url: t.url, secret: secrets.secret! } : { type: 'slack', url: secrets.url!, secret: secrets.secret };
        const r = await this.sender.send(target, event, s.consoleUrl);
        await this.store.record({ ...base, state: 'delivered', statusCode: r.statusCode, error: null });
      } catch (err) {
        const refused = isCapstanError(err) && err.code.startsWith('CAPSTAN_OUTBOUND_');
        const message = (err instanceof Error ? err.message : String(err)).slice(0, 500);
        // A refused address will not become allowed by retrying; nor will anything after the outbox's last attempt.
        const dead = refused || Math.max(attempts, delivery.attempt) >= this.maxAttempts;
        await this.store.record({ ...base, state: dead ? 'dead' : 'failed', statusCode: (err as { statusCode?: number }).statusCode ?? null, error: message });
        if (!dead) failures.push(`${s.name}: ${message}`);
      }
    }
    if (failures.length) throw new Error(`notification delivery failed: ${failures.join('; ')}`);
  };
}
