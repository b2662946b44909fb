import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { CapstanError } from '../core/errors.js';
import type { DomainEvent } from '../core/events.js';
import { newId } from '../core/ids.js';
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
  constructor(
    private readonly db: Database,
    private readonly queue: JobQueue,
  ) {}

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
    const secret = input.secret ?? randomBytes(24).toString('base64url');
    if (typeof secret !== 'string' || secret.length < 16 || secret.length > 200) throw invalid('the secret must be 16-200 characters');
    const description = String(input.description ?? '');
    if (description.length > 500) throw invalid('the description must be at most 500 characters');
    const row: WebhookRow = {
      id: newId('whk'),
      url: input.url,
      events: JSON.stringify([...new Set(events)]),
      models: JSON.stringify([...new Set(models)]),
      secret,
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
    return (await this.q.selectFrom('registry_webhooks').selectAll().orderBy('id').execute()).map(toWebhook);
  }

  /** A subscription with its secret, or undefined when it was deleted. */
  async find(id: string): Promise<(Webhook & { secret: string }) | undefined> {
    const row = await this.q.selectFrom('registry_webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { ...toWebhook(row), secret: row.secret } : undefined;
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
   * Enqueues one delivery job per matching subscription inside the caller's transaction, so an event
   * is delivered if and only if the change that caused it commits (a transactional outbox).
   */
  async enqueueDeliveries(t: Kysely<any>, event: DomainEvent): Promise<number> {
    const model = typeof event.data.model === 'string' ? event.data.model : undefined;
    const rows = await (t as Kysely<RegistryTables>).selectFrom('registry_webhooks').selectAll().execute();
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
