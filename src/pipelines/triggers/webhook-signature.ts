import { createHmac, timingSafeEqual } from 'node:crypto';

/** Largest accepted clock difference between signer and server, in seconds (replay window). */
export const WEBHOOK_TOLERANCE_S = 300;

/** The `X-Capstan-Signature` value for a body: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. */
export function signWebhook(secret: string, body: Buffer | string, nowS = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${nowS}.`).update(body).digest('hex');
  return `t=${nowS},v1=${mac}`;
}

/** A signature that verified: its signing time and MAC (the MAC identifies the delivery for replay checks). */
export interface VerifiedSignature {
  t: number;
  v1: string;
}

/** The signing time and MAC when the header carries a fresh, matching signature of `body`; otherwise undefined. */
export function checkWebhookSignature(secret: string, body: Buffer, header: string | string[] | undefined, nowS = Math.floor(Date.now() / 1000)): VerifiedSignature | undefined {
  if (typeof header !== 'string') return undefined;
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isSafeInteger(t) || Math.abs(nowS - t) > WEBHOOK_TOLERANCE_S || typeof parts.v1 !== 'string') return undefined;
  const expected = Buffer.from(signWebhook(secret, body, t).split('v1=')[1], 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return { t, v1: expected.toString('hex') };
}

/** True when the header carries a fresh, matching signature of `body`. */
export function verifyWebhookSignature(secret: string, body: Buffer, header: string | string[] | undefined, nowS = Math.floor(Date.now() / 1000)): boolean {
  return checkWebhookSignature(secret, body, header, nowS) !== undefined;
}
