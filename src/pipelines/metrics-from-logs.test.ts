import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCapstanError } from '../core/errors.js';
import { MetricsFromLogs, type MetricPoint } from './metrics-from-logs.js';

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


const definitions = [
  { name: 'hr@10', regex: 'HR=([0-9.]+);' },
  { name: 'loss', regex: 'Loss=([0-9.]+);' },
  { name: 'auc', regex: 'auc=([0-9.]+)' },
];

describe('MetricsFromLogs', () => {
  it('adds one point per matching line and reports the last value when no Final line came', () => {
    const points: MetricPoint[] = [];
    const m = new MetricsFromLogs(definitions, (p) => points.push(p));
    m.line('Epoch=1; HR=0.40; Loss=0.50;');
    m.line('Epoch=2; HR=0.45; Loss=0.40;');
    assert.deepEqual(m.all(), { 'hr@10': [0.4, 0.45], loss: [0.5, 0.4] });
    assert.deepEqual(m.latest(), { 'hr@10': 0.45, loss: 0.4 });
    assert.deepEqual(points.map((p) => [p.name, p.step]), [['hr@10', 0], ['loss', 0], ['hr@10', 1], ['loss', 1]]);
    assert.deepEqual(m.warnings(), ['metric "auc": regex "auc=([0-9.]+)" never matched the log']);
  });

  it('takes every step metric from the Final line (the kept epoch, not the last) and adds no point for it', () => {
    const points: MetricPoint[] = [];
    const m = new MetricsFromLogs(definitions, (p) => points.push(p));
    m.line('Epoch=1; HR=0.40; Loss=0.50;');
    m.line('Epoch=2; HR=0.52; Loss=0.40;');
    m.line('Epoch=3; HR=0.47; Loss=0.30;');
    m.line('Final: Epoch=2; HR=0.52; Loss=0.40; (best of 3)');
    assert.deepEqual(m.all(), { 'hr@10': [0.4, 0.52, 0.47], loss: [0.5, 0.4, 0.3] });
    assert.equal(points.length, 6);
    assert.deepEqual(m.latest(), { 'hr@10': 0.52, loss: 0.4 });
  });

  it('counts a definition matched only by a Final line as matched', () => {
    const m = new MetricsFromLogs([{ name: 'auc', regex: 'auc=([0-9.]+)' }]);
    m.line('  Final: auc=0.91');
    assert.deepEqual(m.latest(), { auc: 0.91 });
    assert.deepEqual(m.all(), {});
    assert.deepEqual(m.warnings(), []);
  });
});
