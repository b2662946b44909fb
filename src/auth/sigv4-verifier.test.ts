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

async function signed(body: string, extra: Record<string, string> = {}, path = '/endpoints/a%20b/invocations', query: Record<string, string> = {}): Promise<SignedRequest> {
  const signer = new SignatureV4({ credentials: creds, region: 'eu-west-1', service: 'sagemaker', sha256: NodeSha256 });
  const req = await signer.sign({ method: 'POST', protocol: 'http:', hostname: 'h', path, query, headers: { host: 'h:7070', 'content-type': 'application/json', ...extra }, body }, { signingDate: at });
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
});
