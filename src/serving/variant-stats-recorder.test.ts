import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CapstanError } from '../core/errors.js';
import { LATENCY_BOUNDS_MS } from './latency-histogram.js';
import { Outcome, outcomeOf, VariantStatsRecorder } from './variant-stats-recorder.js';
import { summarize } from './variant-stats.js';

describe('VariantStatsRecorder', () => {
  it('classes failures as model errors, other 5xx or 4xx', () => {
    assert.equal(outcomeOf(new CapstanError('CAPSTAN_SERVING_MODEL_TIMEOUT')), Outcome.ModelError);
    assert.equal(outcomeOf(new CapstanError('CAPSTAN_SERVING_MODEL_ERROR')), Outcome.ModelError);
    assert.equal(outcomeOf(new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY')), Outcome.ServerError);
    assert.equal(outcomeOf(new Error('boom')), Outcome.ServerError);
    assert.equal(outcomeOf(new CapstanError('CAPSTAN_SERVING_INVALID_INPUT')), Outcome.ClientError);
  });

  it('counts per variant and time bucket, and a drain hands over each count exactly once', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const rec = new VariantStatsRecorder(10_000);
    const blue = rec.forVariant('shop', 'blue');
    assert.equal(rec.forVariant('shop', 'blue'), blue, 'one counter per variant');
    blue.record(3, Outcome.Ok);
    blue.record(7, Outcome.ModelError);
    blue.record(0.1, Outcome.ClientError);
    t.mock.timers.setTime(1_010_000);
    blue.record(40, Outcome.ServerError);
    rec.forVariant('shop', 'green').record(1, Outcome.Ok);

    const cells = rec.drain().sort((a, b) => a.bucketStart - b.bucketStart || a.variant.localeCompare(b.variant));
    assert.deepEqual(
      cells.map((c) => [c.variant, c.bucketStart, c.requests, c.errors4xx, c.errors5xx, c.modelErrors]),
      [
        ['blue', 1_000_000, 3, 1, 1, 1],
        ['blue', 1_010_000, 1, 0, 1, 0],
        ['green', 1_010_000, 1, 0, 0, 0],
      ],
    );
    assert.equal(cells[0].latency[LATENCY_BOUNDS_MS.indexOf(5)], 1);
    assert.equal(cells[0].latency[LATENCY_BOUNDS_MS.indexOf(10)], 1);
    assert.deepEqual(rec.drain(), [], 'nothing is handed over twice');

    blue.record(2, Outcome.Ok);
    const again = rec.drain();
    assert.deepEqual(again.map((c) => [c.bucketStart, c.requests]), [[1_010_000, 1]], 'the current bucket counts on from zero after a drain');
  });

  it('keeps cells a flush could not write and merges them with new counts of the same bucket', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 50_000 });
    const rec = new VariantStatsRecorder(10_000);
    const c = rec.forVariant('shop', 'blue');
    c.record(1, Outcome.Ok);
    rec.restore(rec.drain());
    c.record(1, Outcome.Ok);
    const cells = rec.drain();
    assert.equal(cells.length, 1);
    assert.equal(cells[0].requests, 2);
  });

  it('summarizes sums into error rate and percentiles', () => {
    const latency = new Array<number>(LATENCY_BOUNDS_MS.length).fill(0);
    latency[LATENCY_BOUNDS_MS.indexOf(10)] = 90;
    latency[LATENCY_BOUNDS_MS.indexOf(1000)] = 10;
    const s = summarize({ variant: 'blue', requests: 100, errors4xx: 2, errors5xx: 5, modelErrors: 4, latencySumMs: 5000, latency });
    assert.equal(s.errorRate, 0.05);
    assert.deepEqual(s.latencyMs, { mean: 50, p50: 7.778, p95: 750, p99: 950 });
    assert.equal(s.histogram.boundsMs.at(-1), null);
    assert.equal(summarize({ variant: 'idle', requests: 0, errors4xx: 0, errors5xx: 0, modelErrors: 0, latencySumMs: 0, latency }).latencyMs, null);
  });
});
