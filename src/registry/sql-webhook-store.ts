import type { Kysely } from 'kysely';
import { CapstanError } from '../core/errors.js';
import type { DomainEvent } from '../core/events.js';
import { newId } from '../core/ids.js';
import { SecretBox } from '../core/secret-box.js';
import { newWebhookSecret, webhookSecretProblem } from '../core/webhook-signature.js';
import { assertName } from '../core/names.js';
import { parseJson, type Database } from '../storage/database.js';
import type { JobQueue } from '../storage/queue/job-queue.js';
import { REGISTRY_EVENT_TYPES, type CreateWebhookInput, type CreatedWebhook, type RegistryEventType, type Webhook } from './registry-service.js';
import type { RegistryTables, WebhookRow } from './registry-tables.js';

/** Job type of one webhook delivery. */
export const WEBHOOK_JOB_TYPE = 'webhook.deliver';
/** Queue webhook deliveries run on, so a slow receiver does not hold up other work. */
export const WEBHOOK_QUEUE = 'webhooks';

/** Payload of a `webhook.deliver` job. */
export interface WebhookJobPayload {
  webhookId: string;
  event: DomainEvent;
}

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: parseJson(row.events, []),
    models: parseJson(row.models, []),
    description: row.description,
    createdBy: row.created_by,
    createdAt: iso(row.created_at)!,
    lastDeliveryAt: iso(row.last_delivery_at),
    lastStatus: row.last_status,
  };
}

function invalid(detail: string): CapstanError {
  return new CapstanError('CAPSTAN_REGISTRY_WEBHOOK_INVALID', detail);
}

/** Webhook subscriptions, and the fan-out of one event into delivery jobs. */
export class SqlWebhookStore {
  private sealing?: Promise<void>;

  /** `box` encrypts the secrets at rest; without one they are stored as given (tests of other parts). */
  constructor(
    private readonly db: Database,
    private readonly queue: JobQueue,
    private readonly box?: SecretBox,
  ) {}

  /**
   * Encrypts secrets stored in plaintext by earlier versions, once per store, before the first read;
   * the update names the old value, so two processes doing it at once do not seal a value twice.
   */
  private sealLegacySecrets(): Promise<void> {
    const box = this.box;
    if (!box) return Promise.resolve();
    this.sealing ??= (async () => {
      const rows = await this.q.selectFrom('registry_webhooks').select(['id', 'secret']).execute();
      for (const row of rows) {
        if (SecretBox.isSealed(row.secret)) continue;
        await this.q.updateTable('registry_webhooks').set({ secret: box.seal(row.secret, row.id) }).where('id', '=', row.id).where('secret', '=', row.secret).execute();
      }
    })().catch((err: unknown) => {
      this.sealing = undefined;
      throw err;
    });
    return this.sealing;
  }

  private get q(): Kysely<RegistryTables> {
    return this.db.as<RegistryTables>();
  }

  /** Stores a subscription; the URL must already have passed the outbound guard. */
  async create(input: CreateWebhookInput, actor: string): Promise<CreatedWebhook> {
    const events = input.events === undefined || input.events.length === 0 ? [...REGISTRY_EVENT_TYPES] : input.events;
    if (!Array.isArray(events) || events.some((e) => !REGISTRY_EVENT_TYPES.includes(e))) {
      throw invalid(`events must be a list of ${REGISTRY_EVENT_TYPES.join(', ')}`);
    }
    const models = (input.models ?? []).map((m) => assertName(m, 'model name'));
    const secret = input.secret ?? newWebhookSecret();
    if (typeof secret !== 'string' || secret.length < 16 || secret.length > 200) throw invalid('the secret must be 16-200 characters');
    const problem = webhookSecretProblem(secret);
    if (problem) throw invalid(problem);
    if (SecretBox.isSealed(secret)) throw invalid('the secret must not start with "enc:v1:"');
    await this.sealLegacySecrets();
    const description = String(input.description ?? '');
    if (description.length > 500) throw invalid('the description must be at most 500 characters');
    const id = newId('whk');
    const row: WebhookRow = {
      id,
      url: input.url,
      events: JSON.stringify([...new Set(events)]),
      models: JSON.stringify([...new Set(models)]),
      secret: this.box ? this.box.seal(secret, id) : secret,
      description,
      created_by: actor,
      created_at: Date.now(),
      last_delivery_at: null,
      last_status: null,
    };
    await this.q.insertInto('registry_webhooks').values(row).execute();
    return { ...toWebhook(row), secret };
  }

  /** Every subscription, oldest first, without secrets. */
  async list(): Promise<Webhook[]> {
    await this.sealLegacySecrets();
    return (await this.q.selectFrom('registry_webhooks').selectAll().orderBy('id').execute()).map(toWebhook);
  }

  /** A subscription with its secret, or undefined when it was deleted. */
  async find(id: string): Promise<(Webhook & { secret: string }) | undefined> {
    await this.sealLegacySecrets();
    const row = await this.q.selectFrom('registry_webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return { ...toWebhook(row), secret: this.box ? this.box.open(row.secret, row.id) : row.secret };
  }

  /** Removes a subscription; CAPSTAN_REGISTRY_WEBHOOK_NOT_FOUND when there is none. */
  async delete(id: string): Promise<void> {
    const res = await this.q.deleteFrom('registry_webhooks').where('id', '=', String(id)).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw new CapstanError('CAPSTAN_REGISTRY_WEBHOOK_NOT_FOUND', `no webhook ${String(id).slice(0, 80)}`, { fields: { webhookId: String(id).slice(0, 80) } });
  }

  /** Records the outcome of the latest delivery attempt. */
  async recordDelivery(id: string, status: string): Promise<void> {
    await this.q.updateTable('registry_webhooks').set({ last_delivery_at: Date.now(), last_status: status.slice(0, 200) }).where('id', '=', id).execute();
  }

  /**
   * Enqueues one delivery job per matching subscription inside the caller's transaction. The outbox
   * subscriber `registry.webhooks` calls it for each committed event; redelivering an event is
   * harmless, since each job's idempotency key is webhook id + event id.
   */
  async enqueueDeliveries(t: Kysely<any>, event: DomainEvent): Promise<number> {
    const model = typeof event.data.model === 'string' ? event.data.model : undefined;
    // A webhook receives the events of changes made after it was created, however late the outbox delivers them.
    const occurredAt = Date.parse(event.time);
    const rows = await (t as Kysely<RegistryTables>).selectFrom('registry_webhooks').selectAll().where('created_at', '<=', occurredAt).execute();
    let count = 0;
    for (const row of rows) {
      const events = parseJson<RegistryEventType[]>(row.events, []);
      const models = parseJson<string[]>(row.models, []);
      if (!events.includes(event.type as RegistryEventType)) continue;
      if (models.length && (!model || !models.includes(model))) continue;
      const payload: WebhookJobPayload = { webhookId: row.id, event };
      await this.queue.enqueue(WEBHOOK_JOB_TYPE, payload, { queue: WEBHOOK_QUEUE, idempotencyKey: `${row.id}:${event.id}` }, t);
      count++;
    }
    return count;
  }
}
