import { CapstanError } from '../../core/errors.js';
import type { ExecutionRecord, PipelineRecord } from '../execution.js';
import type { TriggerStore } from './trigger-store.js';
import type { WebhookDeliveryStore } from './webhook-delivery-store.js';
import { checkWebhookSignature, WEBHOOK_TOLERANCE_S } from './webhook-signature.js';

/** One received webhook request, as the route hands it over. */
export interface WebhookRequest {
  pipeline: string;
  trigger: string;
  /** The exact bytes that were signed. */
  body: Buffer;
  /** The `X-Capstan-Signature` header. */
  signature: string | string[] | undefined;
  /** The optional `X-Capstan-Delivery` header: a sender's id, the same on each of its retries. */
  deliveryId?: string | string[];
}

/** What a webhook did: started an execution, or recognised a delivery it had acted on already. */
export type WebhookOutcome = { started: true; execution: ExecutionRecord } | { started: false; duplicate: true; executionId: string | null };

/** What the receiver needs from the pipelines context. */
export interface WebhookReceiverDeps {
  triggers: TriggerStore;
  deliveries: WebhookDeliveryStore;
  getPipeline(name: string): Promise<PipelineRecord>;
  start(name: string, input: { params: Record<string, unknown>; trigger: { type: 'webhook'; by: string } }): Promise<ExecutionRecord>;
}

const MAX_DELIVERY_ID = 200;

/**
 * Turns a signed webhook into at most one execution. The signature proves the sender knows the
 * trigger's secret and bounds a delivery's age to the tolerance window; within that window the same
 * MAC (or the same `X-Capstan-Delivery` id) is acknowledged as a duplicate and starts nothing, so a
 * captured request cannot be replayed and a sender's retry is idempotent.
 */
export class WebhookReceiver {
  constructor(private readonly deps: WebhookReceiverDeps) {}

  /** Verifies, de-duplicates and starts; throws CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID or a 400 for a bad body. */
  async receive(req: WebhookRequest, nowMs = Date.now()): Promise<WebhookOutcome> {
    const secret = await this.deps.triggers.secret(req.pipeline, req.trigger);
    const sig = secret ? checkWebhookSignature(secret, req.body, req.signature, Math.floor(nowMs / 1000)) : undefined;
    // Unknown trigger and bad signature answer alike, so the endpoint does not reveal which triggers exist.
    if (!sig) throw new CapstanError('CAPSTAN_PIPELINE_WEBHOOK_SIGNATURE_INVALID', 'the X-Capstan-Signature header is missing, stale or does not match');
    let payload: { params?: Record<string, unknown> } = {};
    if (req.body.length) {
      try {
        payload = JSON.parse(req.body.toString('utf8'));
      } catch {
        throw new CapstanError('CAPSTAN_REQUEST_MALFORMED_JSON', 'the request body is not valid JSON');
      }
    }
    const scope = `${req.pipeline}/${req.trigger}`;
    const keys = [`sig:${scope}/${sig.v1}`];
    const deliveryId = Array.isArray(req.deliveryId) ? req.deliveryId[0] : req.deliveryId;
    if (deliveryId !== undefined && deliveryId.trim() !== '') {
      if (deliveryId.length > MAX_DELIVERY_ID) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `X-Capstan-Delivery is longer than ${MAX_DELIVERY_ID} characters`);
      keys.push(`delivery:${scope}/${deliveryId.trim()}`);
    }
    // A signature verifies until its time plus the tolerance; remembering it that long refuses every replay.
    const expiresAtMs = Math.max(nowMs, sig.t * 1000) + WEBHOOK_TOLERANCE_S * 1000;
    const claim = await this.deps.deliveries.claim(keys, { pipeline: req.pipeline, trigger: req.trigger, nowMs, expiresAtMs });
    if (!claim.claimed) return { started: false, duplicate: true, executionId: claim.executionId };
    let execution: ExecutionRecord;
    try {
      const def = (await this.deps.getPipeline(req.pipeline)).definition.triggers.find((t) => t.name === req.trigger);
      execution = await this.deps.start(req.pipeline, { params: { ...(def?.params ?? {}), ...(payload.params ?? {}) }, trigger: { type: 'webhook', by: `webhook:${req.trigger}` } });
    } catch (err) {
      await this.deps.deliveries.release(keys);
      throw err;
    }
    await this.deps.deliveries.link(keys, execution.id);
    return { started: true, execution };
  }
}
