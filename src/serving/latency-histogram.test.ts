import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LATENCY_BOUNDS_MS, LATENCY_BUCKETS, latencyBucket, quantile } from './latency-histogram.js';

describe('latency histogram', () => {
  it('puts a latency in the first bucket whose upper bound holds it', () => {
    assert.equal(latencyBucket(0), 0);
    assert.equal(latencyBucket(0.25), 0);
    assert.equal(latencyBucket(0.26), 1);
    assert.equal(latencyBucket(7), LATENCY_BOUNDS_MS.indexOf(10));
    assert.equal(latencyBucket(1e9), LATENCY_BUCKETS - 1);
  });

  it('interpolates quantiles inside the bucket they fall in', () => {
    const counts = new Array<number>(LATENCY_BUCKETS).fill(0);
    counts[LATENCY_BOUNDS_MS.indexOf(10)] = 100; // 100 requests in (5, 10] ms
    assert.equal(quantile(counts, 0.5), 7.5);
    assert.equal(quantile(counts, 0.99), 9.95);
    counts[LATENCY_BOUNDS_MS.indexOf(1000)] = 100; // and 100 in (500, 1000] ms
    assert.equal(quantile(counts, 0.25), 7.5);
    assert.equal(quantile(counts, 0.95), 950);
  });

  it('answers null without observations and the lower bound in the open last bucket', () => {
    const counts = new Array<number>(LATENCY_BUCKETS).fill(0);
    assert.equal(quantile(counts, 0.5), null);
    counts[LATENCY_BUCKETS - 1] = 3;
    assert.equal(quantile(counts, 0.99), 30_000);
  });
});
