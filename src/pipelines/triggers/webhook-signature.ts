import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { CapstanError } from '../../core/errors.js';
import {
  timestampProblem,
  verifyWebhook,
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  WEBHOOK_TOLERANCE_SECONDS,
} from '../../core/webhook-signature.js';

/** Largest accepted clock difference between signer and server, in seconds (replay window of timed schemes). */
export const WEBHOOK_TOLERANCE_S = WEBHOOK_TOLERANCE_SECONDS;

/**
 * How long a delivery of a scheme without a signed timestamp (GitHub, GitLab) is remembered for replay
 * checks, in seconds: nothing bounds such a delivery's age, so after this a captured one would start again.
 */
export const UNTIMED_RETENTION_S = 7 * 24 * 3600;

/** The signature schemes an inbound webhook may use, in the order they are recognised. */
export type InboundScheme = 'standard-webhooks' | 'github' | 'gitlab' | 'capstan-deprecated';

/** Request headers as Node hands them over (lower-case names). */
export type InboundHeaders = Record<string, string | string[] | undefined>;

/** One identity of a delivery: its kind (`swh`, `github`, …) and value. */
export interface ReplayKey {
  kind: string;
  value: string;
}

const key = (kind: string, value: string): ReplayKey => ({ kind, value });

/** What a request claims before its trigger's secret is looked up. */
export interface InboundClaim {
  scheme: InboundScheme;
  /** True when the request proves knowledge of `secret` (constant-time comparisons). */
  verify(secret: string): boolean;
  /** Replay keys (the receiver scopes them to the pipeline and trigger); a delivery with a seen key starts nothing. */
  keys: ReplayKey[];
  /** Until when the keys must be remembered (epoch ms). */
  expiresAtMs: number;
}

/** `Deprecation` response header value (RFC 9745: the date the scheme was deprecated, 2026-12-01) answered to the deprecated scheme. */
export const DEPRECATED_SCHEME_SINCE = '@1796083200';

/** Header of the deprecated Capstan scheme, `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const DEPRECATED_SIGNATURE_HEADER = 'x-capstan-signature';
/** Optional sender id of the deprecated Capstan scheme. */
export const DEPRECATED_DELIVERY_HEADER = 'x-capstan-delivery';

const MAX_ID = 200;

function header(headers: InboundHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

function missing(detail: string, name: string): CapstanError {
  return new CapstanError('CAPSTAN_PIPELINE_WEBHOOK_HEADER_MISSING', detail, { fields: { header: name } });
}

function deliveryId(value: string | undefined, name: string): string | undefined {
  if (value !== undefined && value.length > MAX_ID) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `${name} is longer than ${MAX_ID} characters`, { fields: { header: name } });
  return value;
}

function assertFresh(value: string, name: string, nowS: number): number {
  const problem = timestampProblem(value, nowS);
  if (!problem) return Number(value);
  const what = { malformed: 'is not a Unix time in seconds', stale: `is more than ${WEBHOOK_TOLERANCE_S} seconds old`, future: `is more than ${WEBHOOK_TOLERANCE_S} seconds ahead of the server's clock` }[problem];
  throw new CapstanError('CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID', `the ${name} ${value.slice(0, 20)} ${what}; signatures are accepted for ${WEBHOOK_TOLERANCE_S / 60} minutes either side of their time`, {
    fields: { header: name, reason: problem },
  });
}

/** Compares two strings in constant time (their lengths included, by hashing both). */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function sameHexMac(given: string, expected: Buffer): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), expected);
}

/**
 * Recognises the scheme of a webhook request and checks what needs no secret: the headers it needs are
 * there and its signed time (where the scheme has one) is within five minutes of now. Throws
 * CAPSTAN_PIPELINE_WEBHOOK_HEADER_MISSING or CAPSTAN_PIPELINE_WEBHOOK_TIMESTAMP_INVALID; neither depends
 * on the trigger, so these answers do not reveal which triggers exist.
 */
export function readInboundWebhook(headers: InboundHeaders, body: Buffer, nowMs: number): InboundClaim {
  const nowS = Math.floor(nowMs / 1000);
  const std = [WEBHOOK_ID_HEADER, WEBHOOK_TIMESTAMP_HEADER, WEBHOOK_SIGNATURE_HEADER].map((n) => header(headers, n));
  if (std.some((v) => v !== undefined)) {
    const absent = [WEBHOOK_ID_HEADER, WEBHOOK_TIMESTAMP_HEADER, WEBHOOK_SIGNATURE_HEADER].filter((_, i) => std[i] === undefined);
    if (absent.length) throw missing(`a Standard Webhooks request needs webhook-id, webhook-timestamp and webhook-signature; ${absent.join(' and ')} missing`, absent[0]);
    const [id, timestamp, signature] = std as string[];
    deliveryId(id, WEBHOOK_ID_HEADER);
    const t = assertFresh(timestamp, WEBHOOK_TIMESTAMP_HEADER, nowS);
    return {
      scheme: 'standard-webhooks',
      verify: (secret) => verifyWebhook(secret, { id, timestamp, signature }, body, { nowSeconds: nowS }).valid,
      keys: [key('swh', id)],
      // Past its time plus the tolerance the timestamp check refuses the request, so the key can go.
      expiresAtMs: (Math.max(nowS, t) + WEBHOOK_TOLERANCE_S) * 1000,
    };
  }
  const hub = header(headers, 'x-hub-signature-256');
  if (hub !== undefined) {
    const given = hub.startsWith('sha256=') ? hub.slice('sha256='.length) : '';
    const id = deliveryId(header(headers, 'x-github-delivery'), 'X-GitHub-Delivery');
    return {
      scheme: 'github',
      // GitHub keys the HMAC with the secret exactly as it was pasted into its form.
      verify: (secret) => sameHexMac(given, createHmac('sha256', secret).update(body).digest()),
      keys: [key('github-sig', given.toLowerCase()), ...(id ? [key('github', id)] : [])],
      expiresAtMs: nowMs + UNTIMED_RETENTION_S * 1000,
    };
  }
  const token = header(headers, 'x-gitlab-token');
  if (token !== undefined) {
    // Idempotency-Key (GitLab 17.4+) stays the same on retries; X-Gitlab-Event-UUID names the event.
    const idem = deliveryId(header(headers, 'idempotency-key'), 'Idempotency-Key');
    const event = deliveryId(header(headers, 'x-gitlab-event-uuid'), 'X-Gitlab-Event-UUID');
    return {
      scheme: 'gitlab',
      verify: (secret) => sameSecret(token, secret),
      keys: [...(idem ? [key('gitlab', idem)] : []), ...(event ? [key('gitlab-event', event)] : [])],
      expiresAtMs: nowMs + UNTIMED_RETENTION_S * 1000,
    };
  }
  const capstan = header(headers, DEPRECATED_SIGNATURE_HEADER);
  if (capstan !== undefined) {
    const parts = Object.fromEntries(capstan.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
    const t = assertFresh(String(parts.t ?? ''), 'X-Capstan-Signature time t', nowS);
    const v1 = typeof parts.v1 === 'string' ? parts.v1 : '';
    const id = deliveryId(header(headers, DEPRECATED_DELIVERY_HEADER), 'X-Capstan-Delivery');
    return {
      scheme: 'capstan-deprecated',
      verify: (secret) => sameHexMac(v1, createHmac('sha256', secret).update(`${t}.`).update(body).digest()),
      // The key formats of earlier versions, so deliveries they remembered still count.
      keys: [key('sig', v1.toLowerCase()), ...(id ? [key('delivery', id)] : [])],
      expiresAtMs: (Math.max(nowS, t) + WEBHOOK_TOLERANCE_S) * 1000,
    };
  }
  throw missing(
    'the request carries no webhook signature: send Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature), GitHub\'s X-Hub-Signature-256 or GitLab\'s X-Gitlab-Token',
    WEBHOOK_SIGNATURE_HEADER,
  );
}

/**
 * The deprecated `X-Capstan-Signature` value for a body: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 * @deprecated senders should sign with Standard Webhooks (`webhookHeaders` in src/core/webhook-signature.ts).
 */
export function signDeprecatedWebhook(secret: string, body: Buffer | string, nowS = Math.floor(Date.now() / 1000)): string {
  return `t=${nowS},v1=${createHmac('sha256', secret).update(`${nowS}.`).update(body).digest('hex')}`;
}
