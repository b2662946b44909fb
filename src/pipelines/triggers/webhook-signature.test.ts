import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { isCapstanError } from '../../core/errors.js';
import { newWebhookSecret, webhookHeaders } from '../../core/webhook-signature.js';
import { readInboundWebhook, signDeprecatedWebhook, UNTIMED_RETENTION_S, WEBHOOK_TOLERANCE_S } from './webhook-signature.js';

const secret = newWebhookSecret();
const body = Buffer.from('{"params":{}}');
const nowMs = 1_800_000_000_000;
const nowS = nowMs / 1000;

describe('inbound webhook schemes', () => {
  it('keys a Standard Webhooks delivery by its webhook-id until its timestamp leaves the tolerance', () => {
    const claim = readInboundWebhook(webhookHeaders(secret, { id: 'msg_1', timestamp: nowS - 10, body }), body, nowMs);
    assert.equal(claim.scheme, 'standard-webhooks');
    assert.equal(claim.verify(secret), true);
    assert.equal(claim.verify(newWebhookSecret()), false);
    assert.deepEqual(claim.keys, [{ kind: 'swh', value: 'msg_1' }]);
    assert.equal(claim.expiresAtMs, (nowS + WEBHOOK_TOLERANCE_S) * 1000);
  });

  it('verifies GitHub with the secret string as the HMAC key, and refuses a header without the sha256= prefix', () => {
    const hex = createHmac('sha256', secret).update(body).digest('hex');
    const claim = readInboundWebhook({ 'x-hub-signature-256': `sha256=${hex.toUpperCase()}`, 'x-github-delivery': 'guid-1' }, body, nowMs);
    assert.equal(claim.verify(secret), true, 'hex in either case');
    assert.deepEqual(claim.keys, [{ kind: 'github-sig', value: hex }, { kind: 'github', value: 'guid-1' }]);
    assert.equal(claim.expiresAtMs, nowMs + UNTIMED_RETENTION_S * 1000);
    assert.equal(readInboundWebhook({ 'x-hub-signature-256': hex }, body, nowMs).verify(secret), false);
  });

  it('compares the GitLab token whole, and has no replay key when GitLab sends no id', () => {
    assert.equal(readInboundWebhook({ 'x-gitlab-token': secret }, body, nowMs).verify(secret), true);
    assert.equal(readInboundWebhook({ 'x-gitlab-token': secret.slice(0, -1) }, body, nowMs).verify(secret), false);
    assert.deepEqual(readInboundWebhook({ 'x-gitlab-token': secret }, body, nowMs).keys, []);
  });

  it('keys the deprecated scheme as earlier versions did, so deliveries they remembered still count', () => {
    const header = signDeprecatedWebhook(secret, body, nowS);
    const claim = readInboundWebhook({ 'x-capstan-signature': header, 'x-capstan-delivery': 'd-1' }, body, nowMs);
    assert.equal(claim.verify(secret), true);
    assert.deepEqual(claim.keys, [{ kind: 'sig', value: header.split('v1=')[1] }, { kind: 'delivery', value: 'd-1' }]);
  });

  it('refuses an over-long delivery id with CAPSTAN_REQUEST_INVALID', () => {
    assert.throws(() => readInboundWebhook(webhookHeaders(secret, { id: 'x'.repeat(201), timestamp: nowS, body }), body, nowMs), (err) => isCapstanError(err, 'CAPSTAN_REQUEST_INVALID') && /webhook-id is longer than 200/.test(err.message));
  });
});
