import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileAlarms, type SideWindow } from './alarms.js';

const side = (requests: number, errors5xx: number, p99: number): SideWindow => ({ requests, errors5xx, errors4xx: 0, errorRate: requests ? errors5xx / requests : 0, p50: p99 / 2, p95: p99, p99, meanMs: p99 / 3 });

describe('rollout alarms', () => {
  it('fires fixed and relative thresholds, and skips windows with too few requests', () => {
    const [rate, p99, relRate, relP99] = compileAlarms([
      { type: 'error-rate', threshold: 0.05 },
      { type: 'p99', threshold: 100 },
      { type: 'error-rate', threshold: 0.02, relativeToBlue: true },
      { type: 'p99', threshold: 20, relativeToBlue: true },
    ]);
    assert.equal(rate.evaluate(side(100, 10, 5), side(100, 0, 5)).fired, true);
    assert.equal(rate.evaluate(side(100, 2, 5), side(100, 0, 5)).fired, false);
    assert.equal(rate.evaluate(side(5, 5, 5), side(100, 0, 5)).fired, null, 'too few green requests');
    assert.equal(p99.evaluate(side(100, 0, 150), side(100, 0, 5)).fired, true);
    assert.equal(relRate.evaluate(side(100, 4, 5), side(100, 3, 5)).fired, false, 'one point above blue is within 2');
    assert.equal(relRate.evaluate(side(100, 6, 5), side(100, 3, 5)).value, 0.03);
    assert.equal(relP99.evaluate(side(100, 0, 130), side(100, 0, 100)).fired, true);
    assert.equal(relP99.evaluate(side(100, 0, 130), side(3, 0, 100)).fired, null, 'too few blue requests for a comparison');
  });

  it('evaluates CEL conditions over green and blue', () => {
    const [cel] = compileAlarms([{ type: 'cel', expression: 'green.p99 > 2.0 * blue.p99 && green.requests > 50.0' }]);
    assert.equal(cel.name, 'green.p99 > 2.0 * blue.p99 && green.requests > 50.0');
    assert.equal(cel.evaluate(side(100, 0, 50), side(100, 0, 20)).fired, true);
    assert.equal(cel.evaluate(side(100, 0, 30), side(100, 0, 20)).fired, false);
  });
});
