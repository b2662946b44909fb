import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { signLegacyWebhook as signWebhook, verifyLegacyWebhook as verifyWebhook } from './legacy-webhook-signature.js';

describe('deprecated X-Capstan-Signature registry signatures', () => {
  const body = '{"type":"model_version.created"}';

  it('signs <timestamp>.<body> with HMAC-SHA256 as sha256=<hex>', () => {
    const expected = createHmac('sha256', 'topsecret-topsecret').update(`1700000000.${body}`).digest('hex');
    assert.equal(signWebhook('topsecret-topsecret', 1700000000, body), `sha256=${expected}`);
  });

  it('verifies a fresh, correct signature', () => {
    const signature = signWebhook('s'.repeat(20), 1700000000, body);
    assert.deepEqual(verifyWebhook('s'.repeat(20), { signature, timestamp: '1700000000' }, body, { nowSeconds: 1700000010 }), { valid: true });
  });

  it('rejects a wrong secret, a changed body, a changed timestamp, a stale delivery and missing headers', () => {
    const signature = signWebhook('s'.repeat(20), 1700000000, body);
    const now = { nowSeconds: 1700000010 };
    assert.deepEqual(verifyWebhook('t'.repeat(20), { signature, timestamp: '1700000000' }, body, now), { valid: false, reason: 'mismatch' });
    assert.deepEqual(verifyWebhook('s'.repeat(20), { signature, timestamp: '1700000000' }, `${body} `, now), { valid: false, reason: 'mismatch' });
    assert.deepEqual(verifyWebhook('s'.repeat(20), { signature, timestamp: '1700000001' }, body, now), { valid: false, reason: 'mismatch' });
    assert.deepEqual(verifyWebhook('s'.repeat(20), { signature, timestamp: '1700000000' }, body, { nowSeconds: 1700001000 }), { valid: false, reason: 'expired' });
    assert.deepEqual(verifyWebhook('s'.repeat(20), { timestamp: '1700000000' }, body, now), { valid: false, reason: 'missing' });
    assert.deepEqual(verifyWebhook('s'.repeat(20), { signature: 'md5=abc', timestamp: '1700000000' }, body, now), { valid: false, reason: 'malformed' });
  });
});
