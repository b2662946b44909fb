import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileDeploymentPolicy, trafficSteps } from './deployment-policy.js';
import { mixed, greenName } from './traffic-plan.js';

describe('deployment policies', () => {
  it('fills the defaults and plans the traffic steps of each strategy', () => {
    const { policy } = compileDeploymentPolicy({ strategy: 'canary' });
    assert.deepEqual(policy, { strategy: 'canary', canaryPercent: 10, waitSeconds: 60, bakeSeconds: 0, terminationWaitSeconds: 0, maxExecutionSeconds: 14400, evaluationIntervalSeconds: 10, onAlarm: 'rollback', alarms: [] });
    assert.deepEqual(trafficSteps(policy), [10, 100]);
    assert.deepEqual(trafficSteps(compileDeploymentPolicy({ strategy: 'linear' }).policy), [25, 50, 75, 100]);
    assert.deepEqual(trafficSteps(compileDeploymentPolicy({ strategy: 'linear', linearStepPercent: 30 }).policy), [30, 60, 90, 100]);
    assert.deepEqual(trafficSteps(compileDeploymentPolicy({ strategy: 'all-at-once' }).policy), [100]);
  });

  it('accepts the edges of the ranges and refuses a setting of another strategy', () => {
    assert.equal(compileDeploymentPolicy({ strategy: 'canary', canaryPercent: 50, waitSeconds: 0, maxExecutionSeconds: 600 }).policy.canaryPercent, 50);
    assert.equal(compileDeploymentPolicy({ strategy: 'linear', linearStepPercent: 10, waitSeconds: 3600 }).policy.linearStepPercent, 10);
    assert.throws(() => compileDeploymentPolicy({ strategy: 'linear', canaryPercent: 10 }), /canaryPercent is for the canary strategy/);
    assert.throws(() => compileDeploymentPolicy({ strategy: 'canary', canaryPercent: 12.5 }), /canaryPercent must be an integer from 1 to 50/);
  });

  it('splits traffic keeping each side\'s relative weights, and names green apart from blue and older deployments', () => {
    assert.deepEqual(
      mixed([{ name: 'a', model: 'm', weight: 3 }, { name: 'b', model: 'm', weight: 1 }], [{ name: 'g', model: 'n' }], 20).map((v) => [v.name, v.weight]),
      [['a', 60], ['b', 20], ['g', 20]],
    );
    assert.deepEqual(
      mixed([{ name: 'a', model: 'm', weight: 1 }, { name: 's', model: 'm', weight: 1, shadowPercent: 50 }], [{ name: 'g', model: 'n' }], 20).map((v) => [v.name, v.weight]),
      [['a', 80], ['s', 1], ['g', 20]],
      'a shadow variant keeps its weight and counts in no share',
    );
    assert.equal(greenName('primary', new Set(['primary']), 2), 'primary-d2');
    assert.equal(greenName('primary-d2', new Set(['primary-d2', 'primary-d3']), 3), 'primary-d4');
    assert.equal(greenName('challenger', new Set(['primary']), 2), 'challenger');
  });
});
