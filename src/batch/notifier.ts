import { connect, headers as natsHeaders, type NatsConnection } from 'nats';
import { Agent, request } from 'undici';
import { assertOutboundUrl, outboundLookup, type OutboundSettings } from '../core/outbound-guard.js';
import type { CapstanConfig } from '../core/config.js';
import type { SecretBox } from '../core/secret-box.js';
import { webhookHeaders } from '../core/webhook-signature.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { parseJson } from '../storage/database.js';
import type { OutboxSubscription } from '../storage/context-module.js';
import type { OutboxEvent } from '../storage/outbox/index.js';
import type { BatchJobOptions } from './batch-options.js';
import { openNotification } from './notification-secrets.js';
import { MAX_INLINE_RESULT_BYTES, type NotificationSettings } from './notification-settings.js';
import type { SqlAsyncStore } from './sql-async-store.js';
import type { SqlBatchStore } from './sql-batch-store.js';

const TIMEOUT_MS = 10_000;
const PATTERNS = ['batch_job.*', 'async_invocation.*'];

/** What the notification subscriptions work with. */
export interface NotifierDeps {
  batchStore: SqlBatchStore;
  asyncStore: SqlAsyncStore;
  artifacts: ArtifactStore;
  box: SecretBox;
  outbound: OutboundSettings;
  notifications: CapstanConfig['notifications'];
}

/** The settings of the job or invocation an event is about, with the secret opened; undefined when it asked for none. */
async function settingsOf(deps: NotifierDeps, event: OutboxEvent): Promise<NotificationSettings | undefined> {
  const id = String(event.data.id ?? '');
  let stored: NotificationSettings | undefined;
  if (event.type.startsWith('batch_job.')) {
    const row = await deps.batchStore.find(id);
    stored = row ? parseJson<BatchJobOptions>(row.options, {} as BatchJobOptions).notification : undefined;
  } else {
    const row = await deps.asyncStore.find(id);
    stored = row?.notification ? parseJson<NotificationSettings>(row.notification, undefined as never) : undefined;
  }
  return stored ? openNotification(deps.box, stored) : undefined;
}

/** The notification document: the event, plus an asynchronous result inline when asked for and at most 128 KiB. */
async function documentOf(deps: NotifierDeps, event: OutboxEvent, settings: NotificationSettings): Promise<string> {
  const data: Record<string, unknown> = { ...event.data };
  if (settings.includeResult && event.type === 'async_invocation.succeeded') {
    const row = await deps.asyncStore.find(String(event.data.id));
    const info = row ? await deps.artifacts.stat(row.output_key) : undefined;
    if (row && info && info.size <= MAX_INLINE_RESULT_BYTES) data.result = (await deps.artifacts.get(row.output_key)).toString('utf8');
    else data.resultOmitted = info ? `larger than ${MAX_INLINE_RESULT_BYTES} bytes` : 'not found';
  }
  return JSON.stringify({ id: event.id, type: event.type, subject: event.subject, time: event.time, data });
}

/**
 * Two durable subscriptions (docs/events.md), so a failing webhook does not re-send NATS messages and
 * the other way round: `batch.notify-webhook` POSTs a Standard-Webhooks-signed document (the event id
 * is the `webhook-id`, receivers dedupe on it) through the outbound guard; `batch.notify-nats`
 * publishes it on the subject, through JetStream with the event id as message id when configured.
 */
export function notificationSubscriptions(deps: NotifierDeps): { subscriptions: OutboxSubscription[]; close(): Promise<void> } {
  const agent = new Agent({ connect: { lookup: outboundLookup(deps.outbound), timeout: TIMEOUT_MS } });
  let nats: Promise<NatsConnection> | undefined;
  const natsConnection = () => {
    if (!nats) {
      nats = connect({ servers: deps.notifications.natsUrl.split(','), timeout: TIMEOUT_MS });
      nats.catch(() => (nats = undefined));
    }
    return nats;
  };
  const webhook: OutboxSubscription = {
    name: 'batch.notify-webhook',
    patterns: PATTERNS,
    async handler(event) {
      const settings = await settingsOf(deps, event);
      if (!settings?.webhookUrl || !settings.webhookSecret) return;
      await assertOutboundUrl(settings.webhookUrl, deps.outbound, { purpose: 'notification webhook URL' });
      const body = await documentOf(deps, event, settings);
      const res = await request(settings.webhookUrl, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'user-agent': 'capstan-notifications', ...webhookHeaders(settings.webhookSecret, { id: event.id, timestamp: Math.floor(Date.now() / 1000), body }) },
        body,
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`notification webhook ${new URL(settings.webhookUrl).host} answered HTTP ${res.statusCode}`);
    },
  };
  const natsSub: OutboxSubscription = {
    name: 'batch.notify-nats',
    patterns: PATTERNS,
    async handler(event) {
      const settings = await settingsOf(deps, event);
      if (!settings?.natsSubject) return;
      const body = new TextEncoder().encode(await documentOf(deps, event, settings));
      const nc = await natsConnection();
      if (deps.notifications.natsJetStream) {
        await nc.jetstream().publish(settings.natsSubject, body, { msgID: event.id });
      } else {
        const h = natsHeaders();
        h.set('Nats-Msg-Id', event.id);
        nc.publish(settings.natsSubject, body, { headers: h });
        await nc.flush();
      }
    },
  };
  return {
    subscriptions: [webhook, natsSub],
    async close() {
      await agent.close();
      if (nats) await (await nats.catch(() => undefined))?.drain().catch(() => {});
    },
  };
}
