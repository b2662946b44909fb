import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { isCapstanError } from '../core/errors.js';
import { NodeSha256, verifySigV4, type SignedRequest } from './sigv4-verifier.js';

const creds = { accessKeyId: 'CPAKABCDEFGHIJKLMNOP', secretAccessKey: 'secret/key+value' };
const principal = { keyId: 'key_1', name: 'k', role: 'invoker' as const };
const lookup = async (id: string) => (id === creds.accessKeyId ? { principal, secretAccessKey: creds.secretAccessKey } : undefined);
const at = new Date('2026-12-01T12:00:00Z');

async function signed(body: string | Buffer, extra: Record<string, string> = {}, path = '/endpoints/a%20b/invocations', query: Record<string, string> = {}, region = 'eu-west-1', signingDate = at): Promise<SignedRequest> {
  const signer = new SignatureV4({ credentials: creds, region, service: 'sagemaker', sha256: NodeSha256 });
  const req = await signer.sign({ method: 'POST', protocol: 'http:', hostname: 'h', path, query, headers: { host: 'h:7070', 'content-type': 'application/json', ...extra }, body }, { signingDate });
  const qs = new URLSearchParams(query).toString();
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: 'POST', url: qs ? `${path}?${qs}` : path, headers, body };
}

const code = (c: string) => (err: unknown) => isCapstanError(err) && err.code === c;

describe('verifySigV4', () => {
  it('accepts what the signer signed, with an encoded path and a query', async () => {
    assert.deepEqual(await verifySigV4(await signed('{"a":1}', {}, '/endpoints/a%20b/invocations', { x: 'y z' }), lookup, at.getTime() + 60_000), principal);
  });

  it('accepts a body hash header that matches and refuses one that does not, or an unsigned payload', async () => {
    const good = await signed('{"a":1}', { 'x-amz-content-sha256': createHash('sha256').update('{"a":1}').digest('hex') });
    assert.deepEqual(await verifySigV4(good, lookup, at.getTime()), principal);
    const wrong = await signed('{"a":1}', { 'x-amz-content-sha256': createHash('sha256').update('{"a":2}').digest('hex') });
    await assert.rejects(verifySigV4(wrong, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
    const unsigned = await signed('{"a":1}', { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' });
    await assert.rejects(verifySigV4(unsigned, lookup, at.getTime()), (err: unknown) => code('CAPSTAN_AUTH_SIGNATURE_INVALID')(err) && /unsigned payloads/.test((err as Error).message));
  });

  it('refuses a changed header, method or body', async () => {
    const r = await signed('{"a":1}');
    await assert.rejects(verifySigV4({ ...r, body: '{"a":2}' }, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
    await assert.rejects(verifySigV4({ ...r, method: 'PUT' }, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
    await assert.rejects(verifySigV4({ ...r, headers: { ...r.headers, 'content-type': 'text/csv' } }, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
  });

  it('refuses dates more than 5 minutes off either way, a malformed header and an unknown key', async () => {
    const r = await signed('{}');
    await assert.rejects(verifySigV4(r, lookup, at.getTime() + 5 * 60_000 + 1000), code('CAPSTAN_AUTH_SIGNATURE_EXPIRED'));
    await assert.rejects(verifySigV4(r, lookup, at.getTime() - 5 * 60_000 - 1000), code('CAPSTAN_AUTH_SIGNATURE_EXPIRED'));
    await assert.rejects(verifySigV4({ ...r, headers: { ...r.headers, authorization: 'AWS4-HMAC-SHA256 nonsense' } }, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
    await assert.rejects(verifySigV4(r, async () => undefined, at.getTime()), code('CAPSTAN_AUTH_ACCESS_KEY_UNKNOWN'));
  });

  it('hashes a binary body as its exact bytes (NUL, invalid UTF-8) and refuses one changed byte', async () => {
    const body = Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x00, 0x7b]);
    const r = await signed(body, { 'content-type': 'application/octet-stream' });
    assert.deepEqual(await verifySigV4(r, lookup, at.getTime()), principal);
    const changed = Buffer.from(body);
    changed[1] = 0xfd; // decodes to the same U+FFFD as 0xff: a text round trip could not tell them apart
    await assert.rejects(verifySigV4({ ...r, body: changed }, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
  });

  it('derives the signing key from the current secret, so a rotated secret takes effect at once', async () => {
    const r = await signed('{"a":1}');
    assert.deepEqual(await verifySigV4(r, lookup, at.getTime()), principal);
    const rotated = async () => ({ principal, secretAccessKey: 'another secret' });
    await assert.rejects(verifySigV4(r, rotated, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
    assert.deepEqual(await verifySigV4(r, lookup, at.getTime()), principal);
  });

  it('refuses a signature whose signed headers leave out X-Amz-Date or are not sorted, before and after a valid list was seen', async () => {
    const r = await signed('{}');
    assert.deepEqual(await verifySigV4(r, lookup, at.getTime()), principal);
    const auth = String(r.headers.authorization);
    const without = auth.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=content-type;host');
    await assert.rejects(verifySigV4({ ...r, headers: { ...r.headers, authorization: without } }, lookup, at.getTime()), (err: unknown) => code('CAPSTAN_AUTH_SIGNATURE_INVALID')(err) && /X-Amz-Date/.test((err as Error).message));
    const unsorted = auth.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=host;content-type;x-amz-date');
    await assert.rejects(verifySigV4({ ...r, headers: { ...r.headers, authorization: unsorted } }, lookup, at.getTime()), (err: unknown) => code('CAPSTAN_AUTH_SIGNATURE_INVALID')(err) && /sorted/.test((err as Error).message));
    await assert.rejects(verifySigV4({ ...r, headers: { ...r.headers, authorization: without } }, lookup, at.getTime()), /X-Amz-Date/);
    assert.deepEqual(await verifySigV4(r, lookup, at.getTime()), principal);
  });

  it('accepts plain, dot-segment and re-encoded paths, and header values with runs of whitespace', async () => {
    for (const path of ['/endpoints/shop/invocations', '/endpoints/shop.v2/invocations', '/endpoints/./shop/../shop/invocations', '/endpoints/a%2Fb/invocations', '/']) {
      assert.deepEqual(await verifySigV4(await signed('{}', {}, path), lookup, at.getTime()), principal, path);
    }
    const spaced = await signed('{}', { 'x-amz-target': '  a   b\tc  ' });
    assert.deepEqual(await verifySigV4(spaced, lookup, at.getTime()), principal);
  });

  it('refuses a changed query string, path or one tampered body byte of a plain request', async () => {
    const r = await signed('{"a":1}', {}, '/endpoints/shop/invocations', { x: 'y' });
    assert.deepEqual(await verifySigV4(r, lookup, at.getTime()), principal);
    await assert.rejects(verifySigV4({ ...r, url: '/endpoints/shop/invocations?x=z' }, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
    await assert.rejects(verifySigV4({ ...r, url: '/endpoints/shop/invocations' }, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
    await assert.rejects(verifySigV4({ ...r, url: '/endpoints/shop2/invocations?x=y' }, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
    await assert.rejects(verifySigV4({ ...r, body: '{"a":2}' }, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
  });

  it('refuses a signature whose credential scope names another region, service or day than it was signed for', async () => {
    const r = await signed('{}');
    const auth = String(r.headers.authorization);
    for (const changed of [auth.replace('/eu-west-1/', '/us-east-1/'), auth.replace('/sagemaker/', '/s3/')]) {
      await assert.rejects(verifySigV4({ ...r, headers: { ...r.headers, authorization: changed } }, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
    }
    const otherDay = auth.replace('/20261201/', '/20261130/');
    await assert.rejects(verifySigV4({ ...r, headers: { ...r.headers, authorization: otherDay } }, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
  });

  it('verifies one key across regions (also non-ASCII ones), dates and a long scope, alternating, and refuses a date swapped between them', async () => {
    const later = new Date(at.getTime() + 61_000);
    const requests = [await signed('{}'), await signed('{}', {}, undefined, {}, 'us-east-1'), await signed('{}', {}, undefined, {}, 'eu-west-1', later), await signed('{}', {}, undefined, {}, 'région-ü'), await signed('{}', {}, undefined, {}, 'r'.repeat(400))];
    for (let round = 0; round < 2; round++) {
      for (const r of requests) assert.deepEqual(await verifySigV4(r, lookup, at.getTime()), principal);
    }
    const swapped = { ...requests[0], headers: { ...requests[0].headers, 'x-amz-date': requests[2].headers['x-amz-date'] } };
    await assert.rejects(verifySigV4(swapped, lookup, at.getTime()), code('CAPSTAN_AUTH_SIGNATURE_INVALID'));
    assert.deepEqual(await verifySigV4(requests[0], lookup, at.getTime()), principal);
  });

  it('refuses a stale date with the expired code even when everything else is right', async () => {
    const r = await signed('{}', {}, '/endpoints/shop/invocations');
    await assert.rejects(verifySigV4(r, lookup, at.getTime() + 10 * 60_000), code('CAPSTAN_AUTH_SIGNATURE_EXPIRED'));
  });
});
