import * as crypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
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
  /** The body exactly as received: its bytes are what the payload hash covers. */
  body: Buffer | string;
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


/** The parts of a SigV4 `Authorization` header, checked for form and freshness. */
export interface ParsedSigV4 {
  accessKeyId: string;
  amzDate: string;
  /** `<day>/<region>/<service>/aws4_request`. */
  scope: string;
  signedHeaders: string;
  signature: string;
}

/**
 * Reads a request's SigV4 header and refuses (403) a malformed one or one dated more than 5 minutes
 * from `now`, before any key is looked up.
 */
export function parseSigV4(headers: IncomingHttpHeaders, now = Date.now()): ParsedSigV4 {
  const match = AUTH_PATTERN.exec(headerValue(headers, 'authorization') ?? '');
  if (!match) throw invalid('the Authorization header is not a well-formed AWS4-HMAC-SHA256 signature');
  const [, accessKeyId, scopeDay, region, service, signedHeaders, signature] = match;
  const amzDate = headerValue(headers, 'x-amz-date') ?? '';
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt) || !amzDate.startsWith(scopeDay)) throw invalid('a SigV4 request needs an X-Amz-Date header matching its credential scope');
  if (Math.abs(now - signedAt) > MAX_SIGV4_SKEW_MS) {
    throw new CapstanError('CAPSTAN_AUTH_SIGNATURE_EXPIRED', `the request was signed at ${new Date(signedAt).toISOString()}, more than 5 minutes from the server time ${new Date(now).toISOString()}`, {
      fields: { signedAt: new Date(signedAt).toISOString(), serverTime: new Date(now).toISOString() },
    });
  }
  return { accessKeyId, amzDate, scope: `${scopeDay}/${region}/${service}/aws4_request`, signedHeaders, signature };
}

/** AWS's URI encoding: RFC 3986 unreserved characters stay, everything else is percent-encoded. */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The canonical path as the AWS SDKs sign it for non-S3 services: normalised, then encoded again. */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalised = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalised).replace(/%2F/g, '/');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  const byKey = new Map<string, string[]>();
  for (const [k, v] of new URLSearchParams(query)) {
    if (k.toLowerCase() === 'x-amz-signature') continue;
    const key = escapeUri(k);
    let pairs = byKey.get(key);
    if (!pairs) byKey.set(key, (pairs = []));
    pairs.push(`${key}=${escapeUri(v)}`);
  }
  return [...byKey.keys()].sort().map((key) => byKey.get(key)!.sort().join('&')).join('&');
}

// crypto.hash (Node 20.12+) is the one-shot digest, cheaper than a Hash object for small inputs.
const sha256Hex: (data: Buffer | string) => string =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha256', data, 'hex') : (data) => createHash('sha256').update(data).digest('hex');

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

// The HMAC chain from secret to signing key changes once a day per region and service: derived once, not per request.
const signingKeys = new Map<string, { secret: string; key: Buffer }>();

function signingKey(accessKeyId: string, secret: string, scope: string): Buffer {
  const id = `${accessKeyId}/${scope}`;
  const hit = signingKeys.get(id);
  if (hit && hit.secret === secret) return hit.key;
  const [day, region, service] = scope.split('/');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
  if (signingKeys.size >= 1024) signingKeys.clear();
  signingKeys.set(id, { secret, key });
  return key;
}

/**
 * Recomputes a parsed signature with the key's secret (one canonical request, one hash of the body,
 * a cached signing key) and compares in constant time. Refuses bodies that do not match
 * `X-Amz-Content-Sha256`, missing or unsorted signed headers and wrong signatures.
 */
export function checkSigV4(request: SignedRequest, parsed: ParsedSigV4, credentials: SigV4Credentials): Principal {
  const payloadHash = sha256Hex(request.body);
  const contentHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (contentHash !== undefined && contentHash !== payloadHash) {
    throw invalid('the body does not match X-Amz-Content-Sha256 (unsigned payloads are not accepted)');
  }
  const names = parsed.signedHeaders.split(';');
  let headerLines = '';
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    // The SDKs sign their headers sorted and without repeats; any other list is not theirs.
    if (i > 0 && !(names[i - 1] < name)) throw invalid('the signed header list must be sorted and without repeats');
    const value = headerValue(request.headers, name);
    if (value === undefined) throw invalid(`the signed header ${name} is missing`);
    headerLines += `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
  }
  if (!names.includes('host')) throw invalid('a SigV4 signature must cover the Host header');
  if (!names.includes('x-amz-date')) throw invalid('a SigV4 signature must cover the X-Amz-Date header');
  const queryAt = request.url.indexOf('?');
  const path = queryAt >= 0 ? request.url.slice(0, queryAt) : request.url;
  const query = queryAt >= 0 ? request.url.slice(queryAt + 1) : '';
  const canonical = `${request.method}\n${canonicalPath(path)}\n${canonicalQuery(query)}\n${headerLines}\n${parsed.signedHeaders}\n${payloadHash}`;
  const toSign = `AWS4-HMAC-SHA256\n${parsed.amzDate}\n${parsed.scope}\n${sha256Hex(canonical)}`;
  const expected = createHmac('sha256', signingKey(parsed.accessKeyId, credentials.secretAccessKey, parsed.scope)).update(toSign, 'utf8').digest();
  if (!timingSafeEqual(expected, Buffer.from(parsed.signature, 'hex'))) {
    throw invalid('the request signature does not match; check the secret access key and that the request was not altered');
  }
  return credentials.principal;
}

/**
 * Verifies an AWS Signature Version 4 `Authorization` header the way the AWS SDKs sign it.
 * Refuses (403, nothing served) malformed headers, dates more than 5 minutes off, unknown or revoked
 * access keys, bodies that do not match `X-Amz-Content-Sha256`, and wrong signatures.
 */
export async function verifySigV4(request: SignedRequest, lookup: (accessKeyId: string) => Promise<SigV4Credentials | undefined>, now = Date.now()): Promise<Principal> {
  const parsed = parseSigV4(request.headers, now);
  const credentials = await lookup(parsed.accessKeyId);
  if (!credentials) throw unknownKey(parsed.accessKeyId);
  return checkSigV4(request, parsed, credentials);
}

/** The refusal of an access key that does not exist, was revoked or carries no SigV4 pair. */
export function unknownKey(accessKeyId: string): CapstanError {
  return new CapstanError('CAPSTAN_AUTH_ACCESS_KEY_UNKNOWN', `no active SigV4 access key ${accessKeyId}`, { fields: { accessKeyId } });
}
