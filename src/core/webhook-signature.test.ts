import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newWebhookSecret, signWebhook, verifyWebhook, webhookHeaders, webhookSecretProblem } from './webhook-signature.js';

// The Standard Webhooks project's published test vector (its libraries' "sign function works" case).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const headersOf = (v: { id: string; timestamp: number; signature: string }) => ({ id: v.id, timestamp: String(v.timestamp), signature: v.signature });

describe('Standard Webhooks signatures', () => {
  it('signs the published test vector to its published signature', () => {
    assert.equal(signWebhook(VECTOR.secret, { id: VECTOR.id, timestamp: VECTOR.timestamp, body: VECTOR.body }), VECTOR.signature);
    assert.equal(signWebhook(VECTOR.secret, { id: VECTOR.id, timestamp: VECTOR.timestamp, body: Buffer.from(VECTOR.body) }), VECTOR.signature, 'bytes sign like the string');
  });

  it('verifies the published test vector within the tolerance, either side of its timestamp', () => {
    for (const now of [VECTOR.timestamp, VECTOR.timestamp - 300, VECTOR.timestamp + 300]) {
      assert.deepEqual(verifyWebhook(VECTOR.secret, headersOf(VECTOR), VECTOR.body, { nowSeconds: now }), { valid: true, id: VECTOR.id, timestamp: VECTOR.timestamp });
    }
  });

  it('refuses a timestamp more than five minutes old or ahead, before looking at the signature', () => {
    assert.deepEqual(verifyWebhook(VECTOR.secret, headersOf(VECTOR), VECTOR.body, { nowSeconds: VECTOR.timestamp + 301 }), { valid: false, reason: 'stale' });
    assert.deepEqual(verifyWebhook(VECTOR.secret, headersOf(VECTOR), VECTOR.body, { nowSeconds: VECTOR.timestamp - 301 }), { valid: false, reason: 'future' });
    assert.deepEqual(verifyWebhook(VECTOR.secret, { ...headersOf(VECTOR), timestamp: 'hello' }, VECTOR.body, { nowSeconds: VECTOR.timestamp }), { valid: false, reason: 'malformed' });
  });

  it('refuses a missing id, timestamp or signature', () => {
    for (const drop of ['id', 'timestamp', 'signature'] as const) {
      const headers = { ...headersOf(VECTOR), [drop]: undefined };
      assert.deepEqual(verifyWebhook(VECTOR.secret, headers, VECTOR.body, { nowSeconds: VECTOR.timestamp }), { valid: false, reason: 'missing' }, drop);
    }
  });

  it('refuses a changed body, id or timestamp, another secret, and partial or foreign-version signatures', () => {
    const now = { nowSeconds: VECTOR.timestamp };
    const mismatch = { valid: false, reason: 'mismatch' };
    assert.deepEqual(verifyWebhook(VECTOR.secret, headersOf(VECTOR), '{"test": 2432232315}', now), mismatch);
    assert.deepEqual(verifyWebhook(VECTOR.secret, { ...headersOf(VECTOR), id: 'msg_other' }, VECTOR.body, now), mismatch);
    assert.deepEqual(verifyWebhook(VECTOR.secret, { ...headersOf(VECTOR), timestamp: String(VECTOR.timestamp + 1) }, VECTOR.body, now), mismatch);
    assert.deepEqual(verifyWebhook(newWebhookSecret(), headersOf(VECTOR), VECTOR.body, now), mismatch);
    for (const signature of ['v1,dawfeoifkpqwoekfpqoekf', VECTOR.signature.slice(0, 8), 'v1,', `v2,${VECTOR.signature.slice(3)}`, VECTOR.signature.slice(3)]) {
      assert.deepEqual(verifyWebhook(VECTOR.secret, { ...headersOf(VECTOR), signature }, VECTOR.body, now), mismatch, signature);
    }
  });

  it('accepts a header listing several signatures when one of them is valid (key rotation)', () => {
    const other = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
    const signature = [other, `v2,${other.slice(3)}`, VECTOR.signature, other].join(' ');
    assert.equal(verifyWebhook(VECTOR.secret, { ...headersOf(VECTOR), signature }, VECTOR.body, { nowSeconds: VECTOR.timestamp }).valid, true);
  });

  it('keys a secret without the whsec_ prefix (created before the scheme) with its UTF-8 bytes', () => {
    const legacy = 'plain-secret-0123456789';
    const headers = webhookHeaders(legacy, { id: 'evt_1', timestamp: VECTOR.timestamp, body: '{}' });
    assert.deepEqual(Object.keys(headers), ['webhook-id', 'webhook-timestamp', 'webhook-signature']);
    const viaBytes = signWebhook(`whsec_${Buffer.from(legacy).toString('base64')}`, { id: 'evt_1', timestamp: VECTOR.timestamp, body: '{}' });
    assert.equal(headers['webhook-signature'], viaBytes);
  });

  it('makes new secrets of 32 random bytes in the whsec_ form, and says what is wrong with a malformed one', () => {
    const secret = newWebhookSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(webhookSecretProblem(secret), undefined);
    assert.equal(webhookSecretProblem(VECTOR.secret), undefined);
    assert.equal(webhookSecretProblem('plain-secret-0123456789'), undefined, 'not a whsec_ secret: not checked');
    assert.match(webhookSecretProblem('whsec_not*base64')!, /standard base64/);
    assert.match(webhookSecretProblem(`whsec_${Buffer.alloc(16).toString('base64')}`)!, /24-64 bytes, not 16/);
  });
});
