/**
 * Dense matrix products for the NeuMF layers. `c[m×n] = a[m×k] · b[k×n]`, optionally plus a bias row
 * and a ReLU. All matrices are row-major Float32Arrays; only the first m·k / k·n / m·n values are read
 * or written, so callers can reuse larger buffers.
 */
export interface Gemm {
  /** Short name for logs and benchmarks (`wasm`, `js`). */
  readonly name: string;
  gemm(a: Float32Array, m: number, k: number, b: Float32Array, n: number, c: Float32Array, bias?: Float32Array | null, relu?: boolean): void;
}

/** Plain JavaScript products: the reference the wasm path is tested against, and the fallback. */
export class JsGemm implements Gemm {
  readonly name = 'js';

  gemm(a: Float32Array, m: number, k: number, b: Float32Array, n: number, c: Float32Array, bias: Float32Array | null = null, relu = false): void {
    for (let i = 0; i < m; i++) {
      const co = i * n;
      if (bias) for (let j = 0; j < n; j++) c[co + j] = bias[j];
      else c.fill(0, co, co + n);
      const ao = i * k;
      for (let p = 0; p < k; p++) {
        const av = a[ao + p];
        if (av === 0) continue;
        const bo = p * n;
        for (let j = 0; j < n; j++) c[co + j] += av * b[bo + j];
      }
      if (relu) for (let j = 0; j < n; j++) if (c[co + j] < 0) c[co + j] = 0;
    }
  }
}

/** Writes the transpose of `a[m×n]` into `out[n×m]`; explicit because transposed wasm products are slow. */
export function transpose(a: Float32Array, m: number, n: number, out: Float32Array): void {
  // Blocked so both sides stay in cache for the 256-wide layers.
  const BS = 32;
  for (let i0 = 0; i0 < m; i0 += BS) {
    const i1 = Math.min(i0 + BS, m);
    for (let j0 = 0; j0 < n; j0 += BS) {
      const j1 = Math.min(j0 + BS, n);
      for (let i = i0; i < i1; i++) {
        const ao = i * n;
        for (let j = j0; j < j1; j++) out[j * m + i] = a[ao + j];
      }
    }
  }
}
