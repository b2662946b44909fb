import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Autoscaler } from './autoscaler.js';
import { compileScaling } from './scaling-config.js';
import { CapstanError } from '../core/errors.js';

const invalid = (detail: string) => new CapstanError('CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID', detail);
const config = (s: object) => compileScaling(s, 'scaling', invalid);

describe('Autoscaler', () => {
  it('scales up to ceil(peak / targetInFlight), capped at max', () => {
    const a = new Autoscaler(config({ min: 1, max: 3, targetInFlight: 2, scaleUpCooldownMs: 0 }), 0);
    for (let i = 0; i < 5; i++) a.observe(i, 10);
    assert.equal(a.decide(1, 5, 20), 3);
  });

  it('removes one worker only after concurrency stayed below the size for the down cooldown', () => {
    const a = new Autoscaler(config({ min: 1, max: 4, targetInFlight: 1, scaleDownCooldownMs: 1000 }), 0);
    assert.equal(a.decide(3, 0, 100), 3, 'below target, but not for long enough yet');
    assert.equal(a.decide(3, 0, 1100), 2);
    assert.equal(a.decide(2, 0, 1200), 2, 'the window restarts after each step down');
  });

  it('scales to zero after the idle timeout only when min is 0', () => {
    const zero = new Autoscaler(config({ min: 0, max: 2, idleTimeoutMs: 500 }), 0);
    assert.equal(zero.decide(1, 0, 400), 1);
    assert.equal(zero.decide(1, 0, 600), 0);
    const one = new Autoscaler(config({ min: 1, max: 2, idleTimeoutMs: 500 }), 0);
    assert.equal(one.decide(1, 0, 10_000), 1);
  });

  it('counts the idle timeout from a promised retry, so a refused request finds its worker still up', () => {
    const a = new Autoscaler(config({ min: 0, max: 1, idleTimeoutMs: 500 }), 0);
    a.expect(2000);
    a.observe(0, 100);
    assert.equal(a.decide(1, 0, 700), 1, 'past the idle timeout since the last request, but the retry is due at 2 s');
    assert.equal(a.decide(1, 0, 2400), 1);
    assert.equal(a.decide(1, 0, 2600), 0);
  });

  it('holds a scale-up back during the up cooldown', () => {
    const a = new Autoscaler(config({ min: 1, max: 4, targetInFlight: 1, scaleUpCooldownMs: 1000 }), 0);
    a.observe(3, 5000);
    assert.equal(a.decide(1, 3, 5000), 4);
    a.observe(5, 5100);
    assert.equal(a.decide(4, 5, 5100), 4, 'already at max');
  });

  it('refuses min greater than max', () => {
    assert.throws(() => config({ min: 3, max: 2 }), /scaling\.min \(3\) is greater than scaling\.max \(2\)/);
  });
});
