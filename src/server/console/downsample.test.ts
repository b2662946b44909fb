import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downsampleMinMax, type Point } from './downsample.js';

test('a long series is cut to the point budget and keeps its global min and max', () => {
  const points: Point[] = Array.from({ length: 10_000 }, (_, i) => [i, Math.sin(i / 50)]);
  points[4321] = [4321, 99];
  points[777] = [777, -99];
  const out = downsampleMinMax(points, 200);
  assert.ok(out.length <= 200);
  assert.ok(out.some((p) => p[1] === 99));
  assert.ok(out.some((p) => p[1] === -99));
  for (let i = 1; i < out.length; i++) assert.ok(out[i][0] > out[i - 1][0], 'x stays in order');
});

test('a short series comes back unchanged', () => {
  const points: Point[] = [[1, 0.5], [2, 0.6]];
  assert.deepEqual(downsampleMinMax(points, 200), points);
});

test('a budget under 2 is refused', () => {
  assert.throws(() => downsampleMinMax([[0, 1]], 1), /at least 2/);
});
