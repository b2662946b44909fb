import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com, spec 1.0.0), symmetric scheme: the one way
 * Capstan signs every outbound event delivery and the first scheme its inbound webhooks accept.
 * A delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`
 * (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, several space-separated during a key rotation).
 */

/** Header carrying the message id: the same on every retry of one event, so receivers drop duplicates by it. */
export const WEBHOOK_ID_HEADER = 'webhook-id';
/** Header carrying the attempt time in Unix seconds (signed, so it cannot be replaced). */
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
/** Header carrying one or more space-separated `v1,<base64>` signatures. */
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';

/** Largest accepted difference between the signing time and now, either way, in seconds (the spec's 5 minutes). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** Prefix of a Standard Webhooks secret; the rest is the base64 key. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** Key sizes the spec allows for HMAC secrets, in bytes. */
const KEY_BYTES = { min: 24, max: 64 };

/** A new secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/**
 * Why a `whsec_` secret is not well formed (not base64, or a key outside 24-64 bytes), or undefined
 * when it is. Secrets without the prefix are not checked here: they predate this scheme (see `signingKey`).
 */
export function webhookSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return undefined;
  const b64 = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return 'a whsec_ secret must be followed by standard base64';
  const bytes = Buffer.from(b64, 'base64').length;
  if (bytes < KEY_BYTES.min || bytes > KEY_BYTES.max) return `a whsec_ secret must encode ${KEY_BYTES.min}-${KEY_BYTES.max} bytes, not ${bytes}`;
  return undefined;
}

/**
 * The HMAC key of a secret. `whsec_<base64>` is the spec's form (the key is the decoded bytes); any other
 * secret (created before Capstan used the spec) keys the HMAC with its UTF-8 bytes, which is what the
 * spec's libraries do when given raw bytes instead of a string.
 */
export function signingKey(secret: string): Buffer {
  return secret.startsWith(WEBHOOK_SECRET_PREFIX) ? Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
}

/** What is signed: the message id, the timestamp and the exact body bytes. */
export interface WebhookMessage {
  id: string;
  /** Unix seconds. */
  timestamp: number;
  body: Buffer | string;
}

function mac(secret: string, msg: WebhookMessage): Buffer {
  return createHmac('sha256', signingKey(secret)).update(`${msg.id}.${msg.timestamp}.`).update(msg.body).digest();
}

/** The `webhook-signature` value of a message: `v1,<base64 HMAC-SHA256>`. */
export function signWebhook(secret: string, msg: WebhookMessage): string {
  return `v1,${mac(secret, msg).toString('base64')}`;
}

/** The three Standard Webhooks headers for a message. */
export function webhookHeaders(secret: string, msg: WebhookMessage): Record<string, string> {
  return { [WEBHOOK_ID_HEADER]: msg.id, [WEBHOOK_TIMESTAMP_HEADER]: String(msg.timestamp), [WEBHOOK_SIGNATURE_HEADER]: signWebhook(secret, msg) };
}

/** Why a timestamp is refused: not a Unix time, older than the tolerance, or further ahead than it. */
export type TimestampProblem = 'malformed' | 'stale' | 'future';

/** Checks a `webhook-timestamp` value against now and the tolerance; undefined when it is acceptable. */
export function timestampProblem(value: string, nowSeconds: number, toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS): TimestampProblem | undefined {
  if (!/^\d{1,12}$/.test(value)) return 'malformed';
  const t = Number(value);
  if (t < nowSeconds - toleranceSeconds) return 'stale';
  if (t > nowSeconds + toleranceSeconds) return 'future';
  return undefined;
}

/** The received Standard Webhooks headers (absent ones undefined). */
export interface ReceivedWebhookHeaders {
  id?: string | null;
  timestamp?: string | null;
  signature?: string | null;
}

/** The outcome of a check: valid, or the first reason it is not, in the order they are checked. */
export type WebhookVerification = { valid: true; id: string; timestamp: number } | { valid: false; reason: 'missing' | TimestampProblem | 'mismatch' };

/** Options of `verifyWebhook`. */
export interface VerifyWebhookOptions {
  /** Default: the current time. */
  nowSeconds?: number;
  /** Default: `WEBHOOK_TOLERANCE_SECONDS` (300). */
  toleranceSeconds?: number;
}

/**
 * Checks a received delivery: all three headers present, the timestamp within the tolerance, then any of
 * the `v1` signatures matching in constant time (other versions, such as `v1a`, are skipped).
 */
export function verifyWebhook(secret: string, headers: ReceivedWebhookHeaders, body: Buffer | string, options: VerifyWebhookOptions = {}): WebhookVerification {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { valid: false, reason: 'missing' };
  const problem = timestampProblem(timestamp, options.nowSeconds ?? Math.floor(Date.now() / 1000), options.toleranceSeconds);
  if (problem) return { valid: false, reason: problem };
  const expected = mac(secret, { id, timestamp: Number(timestamp), body });
  for (const part of signature.split(' ')) {
    const comma = part.indexOf(',');
    if (comma < 0 || part.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(part.slice(comma + 1), 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return { valid: true, id, timestamp: Number(timestamp) };
  }
  return { valid: false, reason: 'mismatch' };
}
