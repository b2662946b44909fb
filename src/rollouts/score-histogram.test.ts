import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { histogramOf, ksOfHistograms, MAX_SCORE_BUCKET, psiOfHistograms, scoreBucket } from './score-histogram.js';

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe('score histograms', () => {
  it('numbers buckets in the order of the values, 2 % wide, with a bounded range', () => {
    const xs = [-1e9, -3, -0.5, -1e-3, 0, 1e-7, 1e-3, 0.5, 0.51, 3, 1e9];
    const b = xs.map(scoreBucket);
    for (let i = 1; i < b.length; i++) assert.ok(b[i] >= b[i - 1], `${xs[i - 1]} -> ${b[i - 1]}, ${xs[i]} -> ${b[i]}`);
    assert.notEqual(scoreBucket(0.5), scoreBucket(0.511), 'values 2.2 % apart fall in different buckets');
    assert.equal(scoreBucket(1e9), MAX_SCORE_BUCKET);
    assert.equal(scoreBucket(-1e9), -MAX_SCORE_BUCKET);
    assert.equal(scoreBucket(Number.NaN), 0);
  });

  it('PSI is near 0 for the same distribution and large for a shifted one; KS likewise between 0 and 1', () => {
    const blue = histogramOf(range(1000, (i) => (i % 100) / 100));
    assert.ok(psiOfHistograms(blue, histogramOf(range(1000, (i) => ((i * 7) % 100) / 100))) < 0.01);
    assert.ok(psiOfHistograms(blue, histogramOf(range(1000, (i) => 0.5 + (i % 100) / 200))) > 0.5);
    assert.equal(ksOfHistograms(blue, blue), 0);
    assert.equal(ksOfHistograms(blue, histogramOf(range(1000, (i) => 2 + i / 1000))), 1);
    const half = ksOfHistograms(histogramOf(range(1000, (i) => i / 1000)), histogramOf(range(1000, (i) => 0.5 + i / 1000)));
    assert.ok(half > 0.45 && half < 0.55, `KS of a half-width shift is about 0.5, got ${half}`);
  });
});
