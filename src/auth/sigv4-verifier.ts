import * as crypto from 'node:crypto';
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CapstanError } from '../core/errors.js';
import type { Principal, SigV4Credentials } from './api-key-store.js';

/** How far a signed request's `X-Amz-Date` may be from the server's clock, as AWS allows. */
export const MAX_SIGV4_SKEW_MS = 5 * 60_000;

const AUTH_PREFIX = 'AWS4-HMAC-SHA256 ';
// The scope is captured whole: it keys the cached signing key and is written into the string to sign as sent.
const AUTH_PATTERN = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/((\d{8})\/[^/,\s]+\/[^/,\s]+\/aws4_request),\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$/;

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

// Requests signed within the same second carry the same X-Amz-Date: the last one parsed is kept.
let lastAmzDate = '';
let lastSignedAt = Number.NaN;

/** `20261201T173900Z` as epoch milliseconds, or NaN. */
function parseAmzDate(value: string): number {
  if (value === lastAmzDate) return lastSignedAt;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  const ms = m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : Number.NaN;
  lastAmzDate = value;
  lastSignedAt = ms;
  return ms;
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
  const [, accessKeyId, scope, scopeDay, signedHeaders, signature] = match;
  const amzDate = headerValue(headers, 'x-amz-date') ?? '';
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt) || !amzDate.startsWith(scopeDay)) throw invalid('a SigV4 request needs an X-Amz-Date header matching its credential scope');
  if (Math.abs(now - signedAt) > MAX_SIGV4_SKEW_MS) {
    throw new CapstanError('CAPSTAN_AUTH_SIGNATURE_EXPIRED', `the request was signed at ${new Date(signedAt).toISOString()}, more than 5 minutes from the server time ${new Date(now).toISOString()}`, {
      fields: { signedAt: new Date(signedAt).toISOString(), serverTime: new Date(now).toISOString() },
    });
  }
  return { accessKeyId, amzDate, scope, signedHeaders, signature };
}

/** AWS's URI encoding: RFC 3986 unreserved characters stay, everything else is percent-encoded. */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

// Absolute paths of unreserved characters, no empty segment and no segment starting with a dot are
// already normalised and encode to themselves: what the invocation routes see from every SDK.
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*\/?$/;

/** The canonical path as the AWS SDKs sign it for non-S3 services: normalised, then encoded again. */
function canonicalPath(path: string): string {
  if (PLAIN_PATH.test(path)) return path;
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalised = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalised).replace(/%2F/g, '/');
}

// Whitespace other than single spaces: only then does a header value change when runs are collapsed.
const UNCOLLAPSED = /[^\S ]| {2}/;

/** A header value as SigV4 signs it: trimmed, inner runs of whitespace collapsed to one space. */
function canonicalValue(value: string): string {
  const trimmed = value.trim();
  return UNCOLLAPSED.test(trimmed) ? trimmed.replace(/\s+/g, ' ') : trimmed;
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

/** A derived signing key, with the inner and outer inputs of the HMAC laid out for its scope. */
interface SigningKey {
  accessKeyId: string;
  scope: string;
  secret: string;
  key: Buffer;
  /** key XOR 0x36… (64 bytes), then the string to sign: `AWS4-HMAC-SHA256\n<date>\n<scope>\n<canonical hash>`. */
  inner: Buffer;
  dateAt: number;
  /** The X-Amz-Date now written at `dateAt`. */
  date: string;
  hashAt: number;
  /** key XOR 0x5c… (64 bytes), then the inner digest. */
  outer: Buffer;
}

const ALGORITHM_LINE = 'AWS4-HMAC-SHA256\n';
const DATE_CHARS = 16;
const HASH_CHARS = 64;

function deriveKey(accessKeyId: string, secret: string, scope: string): SigningKey {
  const [day, region, service] = scope.split('/');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
  const scopeBytes = Buffer.from(scope, 'utf8');
  const dateAt = 64 + ALGORITHM_LINE.length;
  const hashAt = dateAt + DATE_CHARS + 1 + scopeBytes.length + 1;
  // A 32-byte key is shorter than SHA-256's 64-byte block, so it is zero-padded before the pads are applied (RFC 2104).
  const inner = Buffer.alloc(hashAt + HASH_CHARS);
  const outer = Buffer.alloc(64 + 32);
  for (let i = 0; i < 64; i++) {
    inner[i] = (key[i] ?? 0) ^ 0x36;
    outer[i] = (key[i] ?? 0) ^ 0x5c;
  }
  inner.write(ALGORITHM_LINE, 64, 'latin1');
  inner.write('\n', dateAt + DATE_CHARS, 'latin1');
  scopeBytes.copy(inner, dateAt + DATE_CHARS + 1);
  inner.write('\n', hashAt - 1, 'latin1');
  return { accessKeyId, scope, secret, key, inner, dateAt, date: '', hashAt, outer };
}

// The HMAC chain from secret to signing key changes once a day per region and service: derived once, not per request.
const signingKeys = new Map<string, SigningKey>();
let lastKey: SigningKey | undefined;

function signingKey(accessKeyId: string, secret: string, scope: string): SigningKey {
  if (lastKey && lastKey.accessKeyId === accessKeyId && lastKey.scope === scope && lastKey.secret === secret) return lastKey;
  const id = `${accessKeyId}/${scope}`;
  let key = signingKeys.get(id);
  if (!key || key.secret !== secret) {
    key = deriveKey(accessKeyId, secret, scope);
    if (signingKeys.size >= 1024) signingKeys.clear();
    signingKeys.set(id, key);
  }
  lastKey = key;
  return key;
}

/**
 * The signature (hex) of a string to sign made of `amzDate`, the key's scope and `canonicalHash`:
 * HMAC-SHA256 by its definition (RFC 2104) over one-shot digests of buffers laid out per key, because
 * a createHmac per request (a key object, a stream, three native calls) cost more than the rest of the
 * verification together.
 */
function signature(k: SigningKey, amzDate: string, canonicalHash: string): string {
  // Anything else would not fit the layout: the plain HMAC gives the same answer for it.
  if (typeof crypto.hash !== 'function' || amzDate.length !== DATE_CHARS || canonicalHash.length !== HASH_CHARS) {
    return createHmac('sha256', k.key).update(`${ALGORITHM_LINE}${amzDate}\n${k.scope}\n${canonicalHash}`, 'utf8').digest('hex');
  }
  if (k.date !== amzDate) {
    k.inner.write(amzDate, k.dateAt, 'latin1');
    k.date = amzDate;
  }
  k.inner.write(canonicalHash, k.hashAt, 'latin1');
  // The inner digest goes across as latin1 (one char per byte): no hex to encode and decode again.
  k.outer.write(crypto.hash('sha256', k.inner, 'binary'), 64, 'latin1');
  return crypto.hash('sha256', k.outer, 'hex');
}

// A client signs the same header list on every request: the last list checked is kept, split.
let lastSignedHeaders = '';
let lastNames: readonly string[] = [];

/** The names of a `SignedHeaders` list, refused unless sorted, without repeats, and covering Host and X-Amz-Date. */
function signedHeaderNames(list: string): readonly string[] {
  if (list === lastSignedHeaders) return lastNames;
  const names = list.split(';');
  // The SDKs sign their headers sorted and without repeats; any other list is not theirs.
  for (let i = 1; i < names.length; i++) {
    if (!(names[i - 1] < names[i])) throw invalid('the signed header list must be sorted and without repeats');
  }
  if (!names.includes('host')) throw invalid('a SigV4 signature must cover the Host header');
  if (!names.includes('x-amz-date')) throw invalid('a SigV4 signature must cover the X-Amz-Date header');
  lastSignedHeaders = list;
  lastNames = names;
  return names;
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
  const names = signedHeaderNames(parsed.signedHeaders);
  let headerLines = '';
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const value = headerValue(request.headers, name);
    if (value === undefined) throw invalid(`the signed header ${name} is missing`);
    headerLines += `${name}:${canonicalValue(value)}\n`;
  }
  const queryAt = request.url.indexOf('?');
  const path = queryAt >= 0 ? request.url.slice(0, queryAt) : request.url;
  const query = queryAt >= 0 ? request.url.slice(queryAt + 1) : '';
  const canonical = `${request.method}\n${canonicalPath(path)}\n${canonicalQuery(query)}\n${headerLines}\n${parsed.signedHeaders}\n${payloadHash}`;
  const expected = signature(signingKey(parsed.accessKeyId, credentials.secretAccessKey, parsed.scope), parsed.amzDate, sha256Hex(canonical));
  // Both are 64 lowercase hex digits (the header pattern admits no other), compared as bytes in constant time.
  if (!timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(parsed.signature, 'latin1'))) {
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
