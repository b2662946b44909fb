import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying `sha256=<hex HMAC-SHA256>` of `<timestamp>.<body>`. */
export const SIGNATURE_HEADER = 'x-capstan-signature';
/** Header carrying the signing time in Unix seconds; part of the signed text, so it cannot be replaced. */
export const TIMESTAMP_HEADER = 'x-capstan-timestamp';
/** Header naming the event type. */
export const EVENT_HEADER = 'x-capstan-event';
/** Header carrying the event id; the same on every retry, so receivers can drop duplicates. */
export const DELIVERY_HEADER = 'x-capstan-delivery';

/** Default age a receiver accepts, in seconds. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * The signature of a webhook body: `sha256=` + hex HMAC-SHA256 with the webhook's secret over
 * `<timestamp>.<body>`. Signing the timestamp lets receivers reject replays of old deliveries.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The outcome of a check: valid, or the reason it is not. */
export type VerifyResult = { valid: true } | { valid: false; reason: 'missing' | 'malformed' | 'mismatch' | 'expired' };

/** Checks a received webhook (for receivers and tests): signature in constant time, then age. */
export function verifyWebhook(
  secret: string,
  headers: { signature?: string | null; timestamp?: string | null },
  body: string,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): VerifyResult {
  if (!headers.signature || !headers.timestamp) return { valid: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(headers.timestamp) || !/^sha256=[0-9a-f]{64}$/.test(headers.signature)) return { valid: false, reason: 'malformed' };
  const expected = Buffer.from(signWebhook(secret, Number(headers.timestamp), body));
  const given = Buffer.from(headers.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { valid: false, reason: 'mismatch' };
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(headers.timestamp)) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return { valid: false, reason: 'expired' };
  return { valid: true };
}
