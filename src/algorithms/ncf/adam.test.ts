import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adamSettings, DenseAdam, SparseRowAdam } from './adam.js';
import { Random } from './random.js';

/**
 * Runs dense Adam (zero gradient for rows a batch does not use, as torch does with a dense embedding
 * gradient) and SparseRowAdam side by side; returns the largest weight difference after flushing.
 */
function compare(steps: number, gradScale: number, seed: number): { diff: number; moved: number } {
  const rows = 7;
  const dims = [3, 5];
  const rng = new Random(seed);
  const init = dims.map((d) => Float32Array.from({ length: rows * d }, () => rng.normal() * 0.1));
  const denseW = init.map((a) => a.slice());
  const sparseW = init.map((a) => a.slice());
  const s = adamSettings(0.01);
  const dense = new DenseAdam(denseW, s);
  const batch = 4;
  const sparse = new SparseRowAdam(
    sparseW.map((w, k) => ({ weights: w, dim: dims[k] })),
    rows,
    batch,
    s,
  );
  const ids = new Int32Array(batch);
  const grads = dims.map((d) => new Float32Array(batch * d));
  for (let t = 1; t <= steps; t++) {
    // Rows 0-1 are used often, the rest rarely, and a row may repeat within a batch.
    for (let b = 0; b < batch; b++) ids[b] = rng.next() < 0.6 ? rng.int(2) : 2 + rng.int(rows - 2);
    const denseGrads = dims.map((d) => new Float32Array(rows * d));
    for (let k = 0; k < dims.length; k++) {
      for (let b = 0; b < batch; b++) {
        for (let d = 0; d < dims[k]; d++) {
          const g = gradScale * rng.normal();
          grads[k][b * dims[k] + d] = g;
          denseGrads[k][ids[b] * dims[k] + d] += g;
        }
      }
    }
    dense.step(t, denseGrads);
    sparse.step(t, ids, batch, grads, dims, [0, 0]);
  }
  sparse.flush(steps);
  let diff = 0;
  let moved = 0;
  for (let k = 0; k < dims.length; k++) {
    for (let i = 0; i < init[k].length; i++) {
      diff = Math.max(diff, Math.abs(denseW[k][i] - sparseW[k][i]));
      moved = Math.max(moved, Math.abs(denseW[k][i] - init[k][i]));
    }
  }
  return { diff, moved };
}

describe('SparseRowAdam', () => {
  it('ends where dense Adam ends although it only touches the rows each batch uses', () => {
    const { diff, moved } = compare(400, 1e-2, 1);
    assert.ok(moved > 0.05, 'the weights moved');
    assert.ok(diff < 1e-4, `sparse and dense Adam differ by ${diff}`);
  });

  it('stays close when gradients are small enough for ε to matter', () => {
    const { diff, moved } = compare(400, 1e-7, 2);
    assert.ok(moved > 0.01);
    assert.ok(diff < 0.02 * moved, `sparse and dense Adam differ by ${diff} of ${moved}`);
  });

  it('covers long gaps, including steps past the drift table', () => {
    const s = adamSettings(0.001);
    const w = new Float32Array([1, 1]);
    const denseW = w.slice();
    const dense = new DenseAdam([denseW], s);
    const sparse = new SparseRowAdam([{ weights: w, dim: 1 }], 2, 1, s);
    const ids = new Int32Array(1);
    const g = new Float32Array(1);
    for (let t = 1; t <= 41000; t++) {
      const use = t % 997 === 1 || t === 40500;
      const dg = new Float32Array(2);
      if (use) {
        ids[0] = 0;
        g[0] = 0.5;
        dg[0] = 0.5;
        sparse.step(t, ids, 1, [g], [1], [0]);
      }
      dense.step(t, [dg]);
    }
    sparse.flush(41000);
    assert.ok(Math.abs(w[0] - denseW[0]) < 1e-4, `${w[0]} vs ${denseW[0]}`);
    assert.equal(w[1], 1);
  });
});
