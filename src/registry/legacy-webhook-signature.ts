import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * The registry's own signature scheme from before Capstan adopted Standard Webhooks
 * (src/core/webhook-signature.ts). Deliveries still carry these headers alongside the standard ones for
 * one release, so receivers written against them keep working while they move; removed in the next.
 */

/**
 * Header carrying `sha256=<hex HMAC-SHA256>` of `<timestamp>.<body>`, keyed with the secret's UTF-8 bytes.
 * @deprecated use the Standard Webhooks `webhook-signature` header.
 */
export const LEGACY_SIGNATURE_HEADER = 'x-capstan-signature';
/** Header carrying the signing time in Unix seconds. @deprecated use `webhook-timestamp`. */
export const LEGACY_TIMESTAMP_HEADER = 'x-capstan-timestamp';
/** Header carrying the event id. @deprecated use `webhook-id`. */
export const LEGACY_DELIVERY_HEADER = 'x-capstan-delivery';

/**
 * The deprecated `X-Capstan-Signature` value of a delivery: `sha256=` + hex HMAC-SHA256 over `<timestamp>.<body>`.
 * @deprecated use `signWebhook` from src/core/webhook-signature.ts.
 */
export function signLegacyWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The outcome of a check: valid, or the reason it is not. */
export type LegacyVerifyResult = { valid: true } | { valid: false; reason: 'missing' | 'malformed' | 'mismatch' | 'expired' };

/**
 * Checks a delivery signed with the deprecated scheme: signature in constant time, then age (default 300 s).
 * @deprecated use `verifyWebhook` from src/core/webhook-signature.ts.
 */
export function verifyLegacyWebhook(
  secret: string,
  headers: { signature?: string | null; timestamp?: string | null },
  body: string,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): LegacyVerifyResult {
  if (!headers.signature || !headers.timestamp) return { valid: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(headers.timestamp) || !/^sha256=[0-9a-f]{64}$/.test(headers.signature)) return { valid: false, reason: 'malformed' };
  const expected = Buffer.from(signLegacyWebhook(secret, Number(headers.timestamp), body));
  const given = Buffer.from(headers.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { valid: false, reason: 'mismatch' };
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(headers.timestamp)) > (options.toleranceSeconds ?? 300)) return { valid: false, reason: 'expired' };
  return { valid: true };
}
