import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsGemm } from './gemm.js';
import { NeuMFBackprop } from './neumf-backprop.js';
import { initNeuMF, NeuMFScorer, paramArrays, type NeuMFParams } from './neumf-model.js';
import { Random } from './random.js';
import { WasmGemm } from './wasm-gemm.js';

const shape = { numUsers: 4, numItems: 5, factorNum: 4, numLayers: 2 };

/** A model with weights large enough that finite differences see every path (ReLUs mostly active). */
function model(seed: number): NeuMFParams {
  const p = initNeuMF(shape, new Random(seed));
  const rng = new Random(seed + 1);
  for (const a of [p.userGmf, p.itemGmf, p.userMlp, p.itemMlp]) for (let i = 0; i < a.length; i++) a[i] = rng.normal() * 0.5;
  for (const b of p.biases) for (let i = 0; i < b.length; i++) b[i] = 0.1 + 0.05 * rng.normal();
  return p;
}

const users = Int32Array.from([0, 1, 2, 0, 3, 1]);
const items = Int32Array.from([0, 1, 4, 2, 3, 1]);
const labels = Float32Array.from([1, 0, 1, 0, 0, 1]);

/** Mean loss in float64 from the scorer's logits. */
function lossOf(p: NeuMFParams): number {
  const z = new Float32Array(users.length);
  new NeuMFScorer(p, new JsGemm(), 16).score(users, items, z);
  let loss = 0;
  for (let b = 0; b < z.length; b++) loss += Math.max(z[b], 0) - z[b] * labels[b] + Math.log1p(Math.exp(-Math.abs(z[b])));
  return loss / z.length;
}

/**
 * Central difference of the loss in one weight. When the one-sided slopes disagree a ReLU kink lies
 * inside the step, so the step shrinks until it no longer does.
 */
function numeric(p: NeuMFParams, arr: Float32Array, i: number): number {
  const keep = arr[i];
  const base = lossOf(p);
  let h = 1e-2;
  for (;;) {
    arr[i] = keep + h;
    const up = lossOf(p);
    arr[i] = keep - h;
    const down = lossOf(p);
    arr[i] = keep;
    const right = (up - base) / h;
    const left = (base - down) / h;
    if (Math.abs(right - left) <= 0.05 * Math.max(Math.abs(right), Math.abs(left)) + 1e-3 || h < 1e-3) return (up - down) / (2 * h);
    h /= 4;
  }
}

function close(analytic: number, num: number, what: string): void {
  const tol = 2e-3 * Math.max(1, Math.abs(num)) + 1e-4;
  assert.ok(Math.abs(analytic - num) <= tol, `${what}: analytic ${analytic} vs numeric ${num}`);
}

describe('NeuMF backward pass', () => {
  it('matches finite differences for every dense weight and bias', () => {
    const p = model(3);
    const bp = new NeuMFBackprop(shape, 8, new JsGemm());
    const loss = bp.run(p, users, items, labels, users.length);
    assert.ok(Math.abs(loss - lossOf(p)) < 1e-5, 'forward loss equals the scorer-based loss');
    const g = bp.grads;
    const pairs: [Float32Array, Float32Array, string][] = [
      ...p.weights.map((w, l) => [w, g.weights[l], `W${l}`] as [Float32Array, Float32Array, string]),
      ...p.biases.map((b, l) => [b, g.biases[l], `b${l}`] as [Float32Array, Float32Array, string]),
      [p.predictWeight, g.predictWeight, 'wp'],
      [p.predictBias, g.predictBias, 'bp'],
    ];
    for (const [param, grad, name] of pairs) {
      for (let i = 0; i < param.length; i++) close(grad[i], numeric(p, param, i), `${name}[${i}]`);
    }
  });

  it('matches finite differences for the embeddings once per-sample rows are summed per id', () => {
    const p = model(5);
    const bp = new NeuMFBackprop(shape, 8, new JsGemm());
    bp.run(p, users, items, labels, users.length);
    const g = bp.grads;
    const F = shape.factorNum;
    const M = 2 * F;
    const sumRows = (ids: Int32Array, id: number, grad: Float32Array, stride: number, offset: number, dim: number) => {
      const out = new Float64Array(dim);
      for (let b = 0; b < ids.length; b++) if (ids[b] === id) for (let d = 0; d < dim; d++) out[d] += grad[b * stride + offset + d];
      return out;
    };
    for (const u of [0, 1, 3]) {
      const gmf = sumRows(users, u, g.userGmf, F, 0, F);
      const mlp = sumRows(users, u, g.mlpInput, 2 * M, 0, M);
      for (let d = 0; d < F; d++) close(gmf[d], numeric(p, p.userGmf, u * F + d), `userGmf[${u}][${d}]`);
      for (let d = 0; d < M; d++) close(mlp[d], numeric(p, p.userMlp, u * M + d), `userMlp[${u}][${d}]`);
    }
    for (const i of [1, 4]) {
      const gmf = sumRows(items, i, g.itemGmf, F, 0, F);
      const mlp = sumRows(items, i, g.mlpInput, 2 * M, M, M);
      for (let d = 0; d < F; d++) close(gmf[d], numeric(p, p.itemGmf, i * F + d), `itemGmf[${i}][${d}]`);
      for (let d = 0; d < M; d++) close(mlp[d], numeric(p, p.itemMlp, i * M + d), `itemMlp[${i}][${d}]`);
    }
  });

  it('gives the same loss and gradients on the wasm products as on plain JavaScript', async () => {
    const p = model(7);
    const js = new NeuMFBackprop(shape, 8, new JsGemm());
    const wasm = new NeuMFBackprop(shape, 8, await WasmGemm.create());
    const l1 = js.run(p, users, items, labels, users.length);
    const l2 = wasm.run(p, users, items, labels, users.length);
    assert.ok(Math.abs(l1 - l2) < 1e-5);
    const a = [...js.grads.weights, js.grads.mlpInput.subarray(0, users.length * 16), js.grads.userGmf.subarray(0, users.length * 4)];
    const b = [...wasm.grads.weights, wasm.grads.mlpInput.subarray(0, users.length * 16), wasm.grads.userGmf.subarray(0, users.length * 4)];
    for (let k = 0; k < a.length; k++) for (let i = 0; i < a[k].length; i++) assert.ok(Math.abs(a[k][i] - b[k][i]) < 1e-5);
  });

  it('leaves the weights untouched (the optimizer applies the update)', () => {
    const p = model(9);
    const before = paramArrays(p).map((a) => a.slice());
    new NeuMFBackprop(shape, 8, new JsGemm()).run(p, users, items, labels, users.length, 0.3, new Random(1));
    paramArrays(p).forEach((a, k) => assert.deepEqual(a, before[k]));
  });
});
