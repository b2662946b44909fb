import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCapstanError } from '../core/errors.js';
import { compileApprovalPolicy, evaluateApprovalPolicy } from './approval-policy.js';

const subject = { metrics: { 'hr@10': 0.64, 'ndcg@10': 0.38, loss: 0.21 }, params: { epochs: '10' }, tags: { team: 'recs' } };

describe('auto-approval policy (CEL)', () => {
  it('approves when the condition over metrics holds, and says why', () => {
    const policy = compileApprovalPolicy({ autoApprove: 'metrics["hr@10"] >= 0.6' });
    assert.deepEqual(evaluateApprovalPolicy(policy, subject), { approve: true, reason: 'condition holds: metrics["hr@10"] >= 0.6' });
  });

  it('does not approve when the condition is false', () => {
    const policy = compileApprovalPolicy({ autoApprove: 'metrics["hr@10"] >= 0.7 && metrics["loss"] < 0.3' });
    const outcome = evaluateApprovalPolicy(policy, subject);
    assert.equal(outcome.approve, false);
    assert.match(outcome.reason, /condition is false/);
  });

  it('combines metrics, params and tags', () => {
    const policy = compileApprovalPolicy({ autoApprove: 'metrics["ndcg@10"] > 0.3 && params["epochs"] == "10" && tags["team"] == "recs"' });
    assert.equal(evaluateApprovalPolicy(policy, subject).approve, true);
  });

  it('treats a metric the version lacks as "not approved", not as a crash', () => {
    const policy = compileApprovalPolicy({ autoApprove: 'metrics["auc"] > 0.9' });
    const outcome = evaluateApprovalPolicy(policy, subject);
    assert.equal(outcome.approve, false);
    assert.match(outcome.reason, /could not be evaluated/);
  });

  it('refuses conditions that do not parse, use unknown variables or do not yield a bool', () => {
    const bad: [unknown, RegExp][] = [
      [{ autoApprove: 'metrics["hr@10"] >=' }, /not valid CEL/],
      [{ autoApprove: 'process.exit(1)' }, /not valid CEL/],
      [{ autoApprove: 'metrics["hr@10"] + 1.0' }, /must yield a bool/],
      [{ autoApprove: '' }, /needs "autoApprove"/],
      [{}, /needs "autoApprove"/],
      [null, /needs "autoApprove"/],
    ];
    for (const [policy, message] of bad) {
      assert.throws(() => compileApprovalPolicy(policy), (err: unknown) => isCapstanError(err, 'CAPSTAN_REGISTRY_POLICY_INVALID') && message.test(err.message), JSON.stringify(policy));
    }
  });
});
