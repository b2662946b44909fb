import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeRollups, rollupPoints, ROLLUP_WIDTHS, seriesSummary, SUMMARY_WIDTH, widthFor, type Rollup } from './metric-rollups.js';

/** A noisy decreasing curve of `n` steps with one spike and one dip. */
function curve(n: number, spike: number, dip: number): { step: number; value: number }[] {
  return Array.from({ length: n }, (_, step) => ({ step, value: step === spike ? 50 : step === dip ? -50 : 1 / (1 + step / 100) + ((step * 7919) % 13) / 1000 }));
}

describe('metric rollups', () => {
  it('summarises every level of a batch: counts add up to the points and each bucket holds its extremes', () => {
    const points = curve(10_000, 4321, 777);
    const rollups = rollupPoints(points);
    for (const width of ROLLUP_WIDTHS) {
      const level = rollups.filter((r) => r.width === width);
      assert.equal(level.reduce((s, r) => s + r.n, 0), 10_000, `width ${width}`);
      assert.equal(level.length, Math.ceil(10_000 / width));
    }
    const spikeBucket = rollups.find((r) => r.width === 16 && r.bucket === Math.floor(4321 / 16))!;
    assert.deepEqual([spikeBucket.maxStep, spikeBucket.maxValue], [4321, 50]);
    assert.deepEqual(seriesSummary(rollups.filter((r) => r.width === SUMMARY_WIDTH)), { n: 10_000, firstStep: 0, lastStep: 9999 });
  });

  it('reads the coarsest level that still has the buckets asked for, and none for a series short in steps', () => {
    assert.equal(widthFor(0, 9999, 150), 64, '10,000 steps in 150 buckets: 157 rows of 64 steps');
    assert.equal(widthFor(0, 999, 10), 64);
    assert.equal(widthFor(0, 9_999_999, 150), 65_536);
    assert.equal(widthFor(5, 100, 150), undefined);
  });

  it('merges a level into at most twice the buckets, in step order, keeping the spike and the dip', () => {
    const points = curve(10_000, 4321, 777);
    const level = rollupPoints(points).filter((r) => r.width === 64);
    const out = mergeRollups(level, 0, 9999, 150);
    assert.ok(out.length <= 300 && out.length >= 150, String(out.length));
    assert.deepEqual(out.map((p) => p[0]), out.map((p) => p[0]).sort((a, b) => a - b));
    assert.ok(out.some(([s, v]) => s === 4321 && v === 50), 'spike');
    assert.ok(out.some(([s, v]) => s === 777 && v === -50), 'dip');
    const raw = new Map(points.map((p) => [p.step, p.value]));
    for (const [s, v] of out) assert.equal(raw.get(s), v, `point ${s} is a logged point`);
  });

  it('gives the same buckets for a series logged in pieces, once the pieces are merged', () => {
    const points = curve(3000, 10, 2990);
    const merged = new Map<string, Rollup>();
    for (let i = 0; i < points.length; i += 700) {
      for (const r of rollupPoints(points.slice(i, i + 700))) {
        const id = `${r.width}:${r.bucket}`;
        const cur = merged.get(id);
        if (!cur) merged.set(id, { ...r });
        else {
          cur.n += r.n;
          cur.firstStep = Math.min(cur.firstStep, r.firstStep);
          cur.lastStep = Math.max(cur.lastStep, r.lastStep);
          if (r.minValue < cur.minValue) Object.assign(cur, { minValue: r.minValue, minStep: r.minStep });
          if (r.maxValue > cur.maxValue) Object.assign(cur, { maxValue: r.maxValue, maxStep: r.maxStep });
        }
      }
    }
    const whole = rollupPoints(points).sort((a, b) => a.width - b.width || a.bucket - b.bucket);
    assert.deepEqual([...merged.values()].sort((a, b) => a.width - b.width || a.bucket - b.bucket), whole);
  });
});
