import { Agent, request } from 'undici';
import { connect, type NatsConnection } from 'nats';
import { assertOutboundUrl, outboundLookup, type OutboundSettings } from '../core/outbound-guard.js';
import { webhookHeaders } from '../core/webhook-signature.js';
import type { OutboxEvent } from '../storage/outbox/index.js';
import { slackMessage } from './slack-message.js';
import { natsAsHttp } from './notification-spec.js';

/** How long one delivery attempt may take. */
const TIMEOUT_MS = 10_000;

/** A subscription's target with its secrets opened, as the sender uses it. */
export type OpenTarget =
  | { type: 'slack'; url: string; secret?: string }
  | { type: 'webhook'; url: string; secret: string }
  | { type: 'nats'; subject: string; servers: string };

/** What one attempt did: an HTTP status for HTTP targets. */
export interface SendResult {
  statusCode: number | null;
}

/**
 * Sends one event to one target: a Slack Block Kit message or the event as JSON, both POSTed with
 * Standard Webhooks headers when a secret is set (the `webhook-id` is the event id, so receivers
 * dedupe retries), or published on a NATS subject. HTTP URLs pass the outbound guard at send time and
 * the connection's DNS answer too. Throws on refusal, a network error or a non-2xx answer.
 */
export class NotificationSender {
  private readonly agent: Agent;
  private readonly nats = new Map<string, Promise<NatsConnection>>();

  constructor(private readonly outbound: OutboundSettings) {
    this.agent = new Agent({ connect: { lookup: outboundLookup(outbound), timeout: TIMEOUT_MS } });
  }

  async send(target: OpenTarget, event: OutboxEvent, consoleUrl: string | null): Promise<SendResult> {
    if (target.type === 'nats') {
      await assertOutboundUrl(natsAsHttp(target.servers), this.outbound, { purpose: 'NATS server' });
      const nc = await this.connection(target.servers);
      nc.publish(target.subject, JSON.stringify({ id: event.id, type: event.type, subject: event.subject, time: event.time, data: event.data }));
      await nc.flush();
      return { statusCode: null };
    }
    await assertOutboundUrl(target.url, this.outbound, { purpose: 'notification URL' });
    const payload = target.type === 'slack' ? slackMessage(event, consoleUrl) : { id: event.id, type: event.type, subject: event.subject, time: event.time, data: event.data };
    const body = JSON.stringify(payload);
    const signed = target.secret ? webhookHeaders(target.secret, { id: event.id, timestamp: Math.floor(Date.now() / 1000), body }) : {};
    const res = await request(target.url, {
      method: 'POST',
      dispatcher: this.agent,
      headers: { 'content-type': 'application/json', 'user-agent': 'capstan-notifications', 'x-capstan-event': event.type, ...signed },
      body,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) throw Object.assign(new Error(`the target answered HTTP ${res.statusCode}`), { statusCode: res.statusCode });
    return { statusCode: res.statusCode };
  }

  private connection(servers: string): Promise<NatsConnection> {
    let c = this.nats.get(servers);
    if (!c) {
      c = connect({ servers, timeout: TIMEOUT_MS, maxReconnectAttempts: 3 });
      c.catch(() => this.nats.delete(servers));
      this.nats.set(servers, c);
    }
    return c;
  }

  /** Closes NATS connections and the HTTP agent. */
  async close(): Promise<void> {
    for (const c of this.nats.values()) await c.then((nc) => nc.drain(), () => undefined);
    this.nats.clear();
    await this.agent.close();
  }
}
