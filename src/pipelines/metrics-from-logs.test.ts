import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCapstanError } from '../core/errors.js';
import { MetricsFromLogs } from './metrics-from-logs.js';

describe('metrics from logs', () => {
  it('takes the first capture group of each definition, line by line', () => {
    const m = new MetricsFromLogs([{ name: 'loss', regex: 'loss=([0-9.]+);' }, { name: 'hr', regex: 'HR@10=([0-9.]+)' }]);
    m.line('epoch 1 loss=0.5; HR@10=0.25');
    m.line('epoch 2 loss=0.25;');
    assert.deepEqual(m.latest(), { loss: 0.25, hr: 0.25 });
    assert.deepEqual(m.all(), { loss: [0.5, 0.25], hr: [0.25] });
  });

  it('runs a nested quantifier over a long line in linear time instead of backtracking', () => {
    const m = new MetricsFromLogs([{ name: 'x', regex: '^(a+)+([0-9])$' }]);
    m.line(`${'a'.repeat(40)}!`);
    assert.deepEqual(m.latest(), {});
  });

  it('refuses a definition RE2 cannot run (look-around) with CAPSTAN_REQUEST_REGEX_INVALID naming the metric', () => {
    assert.throws(() => new MetricsFromLogs([{ name: 'loss', regex: 'loss=(?=[0-9])([0-9.]+)' }]), (err) => isCapstanError(err, 'CAPSTAN_REQUEST_REGEX_INVALID') && /^metric "loss" regex/.test(err.message));
  });
});
