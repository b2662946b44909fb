import { CapstanError } from '../../core/errors.js';
import type { ExecutionRecord, PipelineRecord } from '../execution.js';
import type { TriggerStore } from './trigger-store.js';
import type { WebhookDeliveryStore } from './webhook-delivery-store.js';
import { DEPRECATED_SCHEME_SINCE, readInboundWebhook, type InboundHeaders, type InboundScheme } from './webhook-signature.js';

/** One received webhook request, as the route hands it over. */
export interface WebhookRequest {
  pipeline: string;
  trigger: string;
  /** The exact bytes that were signed. */
  body: Buffer;
  /** The request headers (lower-case names): Standard Webhooks, GitHub, GitLab or the deprecated X-Capstan-Signature. */
  headers: InboundHeaders;
}

/**
 * What a webhook did: started an execution, or recognised a delivery it had acted on already; by which
 * scheme it was signed, and for a deprecated scheme the `Deprecation` header value (RFC 9745) to answer with.
 */
export type WebhookOutcome = ({ started: true; execution: ExecutionRecord } | { started: false; duplicate: true; executionId: string | null }) & {
  scheme: InboundScheme;
  deprecation?: string;
};

/** What the receiver needs from the pipelines context. */
export interface WebhookReceiverDeps {
  triggers: TriggerStore;
  deliveries: WebhookDeliveryStore;
  getPipeline(name: string): Promise<PipelineRecord>;
  start(name: string, input: { params: Record<string, unknown>; trigger: { type: 'webhook'; by: string } }): Promise<ExecutionRecord>;
}

/**
 * Turns a signed webhook into at most one execution. The headers and the signed time are checked first
 * (they do not depend on the trigger), then the signature against the trigger's secret. Each delivery's
 * ids (`webhook-id`, `X-GitHub-Delivery`, GitLab's `Idempotency-Key`, the MAC itself where the scheme
 * has no id) are remembered while the delivery could still verify: a second delivery with a seen id is
 * acknowledged as a duplicate and starts nothing, so a captured request cannot be replayed and a
 * sender's retry is idempotent.
 */
export class WebhookReceiver {
  constructor(private readonly deps: WebhookReceiverDeps) {}

  /**
   * Verifies, de-duplicates and starts. Throws CAPSTAN_PIPELINE_WEBHOOK_HEADER_MISSING,
   * CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID, CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID, or a 400 for a bad body.
   */
  async receive(req: WebhookRequest, nowMs = Date.now()): Promise<WebhookOutcome> {
    const claim = readInboundWebhook(req.headers, req.body, nowMs);
    const secret = await this.deps.triggers.secret(req.pipeline, req.trigger);
    // Unknown trigger and bad signature answer alike, so the endpoint does not reveal which triggers exist.
    if (!secret || !claim.verify(secret)) {
      throw new CapstanError('CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID', `the ${claim.scheme} signature does not match this trigger's secret`, { fields: { scheme: claim.scheme } });
    }
    let payload: { params?: Record<string, unknown> } = {};
    if (req.body.length) {
      try {
        payload = JSON.parse(req.body.toString('utf8'));
      } catch {
        throw new CapstanError('CAPSTAN_REQUEST_MALFORMED_JSON', 'the request body is not valid JSON');
      }
    }
    const scope = `${req.pipeline}/${req.trigger}`;
    const keys = claim.keys.map((k) => `${k.kind}:${scope}/${k.value}`);
    const meta = { scheme: claim.scheme, ...(claim.scheme === 'capstan-deprecated' ? { deprecation: DEPRECATED_SCHEME_SINCE } : {}) };
    if (keys.length) {
      const seen = await this.deps.deliveries.claim(keys, { pipeline: req.pipeline, trigger: req.trigger, nowMs, expiresAtMs: claim.expiresAtMs });
      if (!seen.claimed) return { started: false, duplicate: true, executionId: seen.executionId, ...meta };
    }
    let execution: ExecutionRecord;
    try {
      const def = (await this.deps.getPipeline(req.pipeline)).definition.triggers.find((t) => t.name === req.trigger);
      execution = await this.deps.start(req.pipeline, { params: { ...(def?.params ?? {}), ...(payload.params ?? {}) }, trigger: { type: 'webhook', by: `webhook:${req.trigger}` } });
    } catch (err) {
      if (keys.length) await this.deps.deliveries.release(keys);
      throw err;
    }
    if (keys.length) await this.deps.deliveries.link(keys, execution.id);
    return { started: true, execution, ...meta };
  }
}
