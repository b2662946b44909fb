import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { CapstanError } from '../core/errors.js';
import type { Principal, SigV4Credentials } from './api-key-store.js';

/** How far a signed request's `X-Amz-Date` may be from the server's clock, as AWS allows. */
export const MAX_SIGV4_SKEW_MS = 5 * 60_000;

const AUTH_PREFIX = 'AWS4-HMAC-SHA256 ';
const AUTH_PATTERN = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$/;

/** A request as received, enough to recompute its signature. */
export interface SignedRequest {
  method: string;
  /** The raw request target: path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The body exactly as received (as text for the invocation routes). */
  body: string;
}

/** True when a request carries AWS SigV4 authentication (what AWS SDKs and boto3 send). */
export function isSigV4Request(headers: IncomingHttpHeaders): boolean {
  const auth = headers.authorization;
  return typeof auth === 'string' && auth.startsWith(AUTH_PREFIX);
}

/** node:crypto behind the checksum interface the signer takes (an HMAC when given a secret). */
export class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  /** Adds data to the digest. */
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  /** The SHA-256 (or HMAC) of what was added. */
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  /** Not needed: the signer makes a new instance per digest. */
  reset(): void {}
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

// A signer caches its derived signing key (per day, region and service); reusing it per cached pair saves the HMAC chain.
const signers = new WeakMap<SigV4Credentials, Map<string, SignatureV4>>();

function signerFor(accessKeyId: string, credentials: SigV4Credentials, region: string, service: string): SignatureV4 {
  let byScope = signers.get(credentials);
  if (!byScope) signers.set(credentials, (byScope = new Map()));
  const scope = `${region}/${service}`;
  let signer = byScope.get(scope);
  if (!signer) {
    if (byScope.size > 16) byScope.clear();
    signer = new SignatureV4({ credentials: { accessKeyId, secretAccessKey: credentials.secretAccessKey }, region, service, sha256: NodeSha256, applyChecksum: false });
    byScope.set(scope, signer);
  }
  return signer;
}

const invalid = (message: string) => new CapstanError('CAPSTAN_AUTH_SIGNATURE_INVALID', message);

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** `20261201T173900Z` as epoch milliseconds, or NaN. */
function parseAmzDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : Number.NaN;
}

/**
 * Verifies an AWS Signature Version 4 `Authorization` header by signing the same canonical request
 * with the key's secret (the maintained `@smithy/signature-v4`) and comparing in constant time.
 * Refuses (403, nothing served) malformed headers, dates more than 5 minutes off, unknown or revoked
 * access keys, bodies that do not match `X-Amz-Content-Sha256`, and wrong signatures.
 */
export async function verifySigV4(request: SignedRequest, lookup: (accessKeyId: string) => Promise<SigV4Credentials | undefined>, now = Date.now()): Promise<Principal> {
  const match = AUTH_PATTERN.exec(headerValue(request.headers, 'authorization') ?? '');
  if (!match) throw invalid('the Authorization header is not a well-formed AWS4-HMAC-SHA256 signature');
  const [, accessKeyId, scopeDay, region, service, signedHeaderList, signature] = match;
  const amzDate = headerValue(request.headers, 'x-amz-date') ?? '';
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt) || !amzDate.startsWith(scopeDay)) throw invalid('a SigV4 request needs an X-Amz-Date header matching its credential scope');
  if (Math.abs(now - signedAt) > MAX_SIGV4_SKEW_MS) {
    throw new CapstanError('CAPSTAN_AUTH_SIGNATURE_EXPIRED', `the request was signed at ${new Date(signedAt).toISOString()}, more than 5 minutes from the server time ${new Date(now).toISOString()}`, {
      fields: { signedAt: new Date(signedAt).toISOString(), serverTime: new Date(now).toISOString() },
    });
  }
  const credentials = await lookup(accessKeyId);
  if (!credentials) throw new CapstanError('CAPSTAN_AUTH_ACCESS_KEY_UNKNOWN', `no active SigV4 access key ${accessKeyId}`, { fields: { accessKeyId } });

  const contentHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (contentHash !== undefined && contentHash !== createHash('sha256').update(request.body, 'utf8').digest('hex')) {
    throw invalid('the body does not match X-Amz-Content-Sha256 (unsigned payloads are not accepted)');
  }
  const signedNames = signedHeaderList.split(';');
  const headers: Record<string, string> = {};
  for (const name of signedNames) {
    const value = headerValue(request.headers, name);
    if (value === undefined) throw invalid(`the signed header ${name} is missing`);
    headers[name] = value;
  }
  if (!('host' in headers)) throw invalid('a SigV4 signature must cover the Host header');
  const queryAt = request.url.indexOf('?');
  const query: Record<string, string | string[]> = {};
  if (queryAt >= 0) {
    for (const [k, v] of new URLSearchParams(request.url.slice(queryAt + 1))) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
  }
  const signer = signerFor(accessKeyId, credentials, region, service);
  const signed = await signer.sign(
    { method: request.method, protocol: 'http:', hostname: headers.host, path: queryAt >= 0 ? request.url.slice(0, queryAt) : request.url, query, headers, body: request.body },
    { signingDate: new Date(signedAt), signableHeaders: new Set(signedNames) },
  );
  const expected = /SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization ?? signed.headers.Authorization ?? ''));
  if (!expected || expected[1] !== signedHeaderList || !timingSafeEqual(Buffer.from(expected[2]), Buffer.from(signature))) {
    throw invalid('the request signature does not match; check the secret access key and that the request was not altered');
  }
  return credentials.principal;
}
