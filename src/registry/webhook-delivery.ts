import { Agent, request } from 'undici';
import { isCapstanError } from '../core/errors.js';
import { assertOutboundUrl, outboundLookup, type OutboundSettings } from '../core/outbound-guard.js';
import type { Job, JobContext, JobHandler } from '../storage/queue/job.js';
import { NonRetryableError } from '../storage/queue/non-retryable-error.js';
import type { SqlWebhookStore, WebhookJobPayload } from './sql-webhook-store.js';
import { webhookHeaders } from '../core/webhook-signature.js';
import { LEGACY_DELIVERY_HEADER, LEGACY_SIGNATURE_HEADER, LEGACY_TIMESTAMP_HEADER, signLegacyWebhook } from './legacy-webhook-signature.js';

/** Header naming the event type (also the body's `type`); informational, not part of any signature. */
export const EVENT_HEADER = 'x-capstan-event';

/** How long one delivery attempt may take. */
const DELIVERY_TIMEOUT_MS = 10_000;

/** What a delivery job needs. */
export interface WebhookDeliveryDeps {
  webhooks: SqlWebhookStore;
  outbound: OutboundSettings;
}

/**
 * The `webhook.deliver` job handler: POSTs the event as JSON signed per Standard Webhooks (`webhook-id` is
 * the event id, the same on every retry; `webhook-timestamp` is the attempt's time). The URL is
 * checked again at delivery time and the connection's DNS answer too (`outboundLookup`), so a host
 * that later resolves to a private address is refused. A non-2xx answer or a network error throws,
 * and the queue retries with backoff; a URL the guard refuses goes straight to `dead`.
 */
export function webhookDelivery(deps: WebhookDeliveryDeps): { handler: JobHandler<WebhookJobPayload>; close: () => Promise<void> } {
  const agent = new Agent({ connect: { lookup: outboundLookup(deps.outbound), timeout: DELIVERY_TIMEOUT_MS } });
  const handler = async (job: Job<WebhookJobPayload>, context: JobContext) => {
    const { webhookId, event } = job.payload;
    const hook = await deps.webhooks.find(webhookId);
    if (!hook) return { skipped: 'the webhook was deleted' };
    try {
      await assertOutboundUrl(hook.url, deps.outbound, { purpose: 'webhook URL' });
    } catch (err) {
      await deps.webhooks.recordDelivery(hook.id, isCapstanError(err) ? err.code : 'refused');
      throw new NonRetryableError(isCapstanError(err) ? `${err.code}: ${err.message}` : 'the webhook URL was refused', { cause: err });
    }
    const body = JSON.stringify(event);
    const timestamp = Math.floor(Date.now() / 1000);
    let status: number;
    try {
      const res = await request(hook.url, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'capstan-webhooks',
          ...webhookHeaders(hook.secret, { id: event.id, timestamp, body }),
          [EVENT_HEADER]: event.type,
          // Deprecated; kept for one release so receivers of the old scheme keep working while they move.
          [LEGACY_SIGNATURE_HEADER]: signLegacyWebhook(hook.secret, timestamp, body),
          [LEGACY_TIMESTAMP_HEADER]: String(timestamp),
          [LEGACY_DELIVERY_HEADER]: event.id,
        },
        body,
        headersTimeout: DELIVERY_TIMEOUT_MS,
        bodyTimeout: DELIVERY_TIMEOUT_MS,
        signal: context.signal,
      });
      status = res.statusCode;
      await res.body.dump();
    } catch (err) {
      const reason = isCapstanError(err) ? err.code : ((err as NodeJS.ErrnoException).code ?? (err as Error).name);
      await deps.webhooks.recordDelivery(hook.id, `error ${reason}`);
      throw new Error(`webhook delivery to ${new URL(hook.url).host} failed: ${reason}`, { cause: err });
    }
    await deps.webhooks.recordDelivery(hook.id, String(status));
    if (status < 200 || status >= 300) throw new Error(`webhook ${new URL(hook.url).host} answered HTTP ${status}`);
    return { status };
  };
  return { handler: handler as JobHandler<WebhookJobPayload>, close: () => agent.close() };
}
