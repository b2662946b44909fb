import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { Gemm } from './gemm.js';

/** The parts of the emscripten module behind tfjs-backend-wasm that the products use. */
interface WasmModule {
  HEAPF32: Float32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAP32: Int32Array;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  /** The exported `_FusedMatMul` kernel: (a_id, a_shape*, rank, b_id, b_shape*, rank, transpose_a, transpose_b, activation, bias_id, prelu_id, leaky_alpha, out_id). */
  __FusedMatMul(...args: number[]): void;
}

/** A grow-only region of the wasm heap. */
interface Region {
  ptr: number;
  floats: number;
}

let backendReady: Promise<WasmModule> | null = null;

/** Starts tfjs with the wasm backend once per process and returns its module. */
function wasmModule(): Promise<WasmModule> {
  backendReady ??= (async () => {
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('the tfjs wasm backend could not start');
    await tf.ready();
    return (tf.backend() as unknown as { wasm: WasmModule }).wasm;
  })();
  return backendReady;
}

/**
 * Matrix products on tfjs-backend-wasm's XNNPACK kernel (SIMD), called directly: operands are copied
 * into fixed heap regions, registered under private tensor ids and released right after the call.
 * Fresh ids each call matter — XNNPACK caches an operator per weights id with the weights packed
 * inside it, so reusing an id would silently multiply by stale weights. Only the untransposed,
 * batch-1 product takes the fast path, which is why callers transpose explicitly.
 */
export class WasmGemm implements Gemm {
  readonly name = 'wasm';
  private readonly regions: Region[] = [0, 1, 2, 3].map(() => ({ ptr: 0, floats: 0 }));
  private nextId = 0x40000000;
  /** Two rank-3 shapes ([1, m, k] and [1, k, n]) kept on the wasm heap, so calls need no marshalling. */
  private readonly shapes: number;

  private constructor(private readonly wasm: WasmModule) {
    this.shapes = wasm._malloc(24) >>> 0;
  }

  /** Starts the wasm backend (once per process) and returns a product engine on it. */
  static async create(): Promise<WasmGemm> {
    return new WasmGemm(await wasmModule());
  }

  gemm(a: Float32Array, m: number, k: number, b: Float32Array, n: number, c: Float32Array, bias: Float32Array | null = null, relu = false): void {
    const wasm = this.wasm;
    const ra = this.region(0, m * k);
    const rb = this.region(1, k * n);
    const rc = this.region(2, m * n);
    const rbias = bias ? this.region(3, n) : null;
    const heap = wasm.HEAPF32;
    heap.set(a.length === m * k ? a : a.subarray(0, m * k), ra.ptr >>> 2);
    heap.set(b.length === k * n ? b : b.subarray(0, k * n), rb.ptr >>> 2);
    if (bias && rbias) heap.set(bias.length === n ? bias : bias.subarray(0, n), rbias.ptr >>> 2);
    const aId = this.nextId++;
    const bId = this.nextId++;
    const cId = this.nextId++;
    const biasId = bias ? this.nextId++ : 0;
    if (this.nextId > 0x7fff0000) this.nextId = 0x40000000;
    const reg = wasm.tfjs;
    reg.registerTensor(aId, m * k, ra.ptr);
    reg.registerTensor(bId, k * n, rb.ptr);
    reg.registerTensor(cId, m * n, rc.ptr);
    if (biasId && rbias) reg.registerTensor(biasId, n, rbias.ptr);
    const sh = wasm.HEAP32;
    const s0 = this.shapes >>> 2;
    sh[s0] = 1;
    sh[s0 + 1] = m;
    sh[s0 + 2] = k;
    sh[s0 + 3] = 1;
    sh[s0 + 4] = k;
    sh[s0 + 5] = n;
    try {
      wasm.__FusedMatMul(aId, this.shapes, 3, bId, this.shapes + 12, 3, 0, 0, relu ? 1 : 0, biasId, 0, 0, cId);
      c.set(wasm.HEAPF32.subarray(rc.ptr >>> 2, (rc.ptr >>> 2) + m * n));
    } finally {
      reg.disposeData(aId);
      reg.disposeData(bId);
      reg.disposeData(cId);
      if (biasId) reg.disposeData(biasId);
    }
  }

  /** Frees the heap regions; the engine must not be used afterwards. */
  dispose(): void {
    this.wasm._free(this.shapes);
    for (const r of this.regions) {
      if (r.ptr) this.wasm._free(r.ptr);
      r.ptr = 0;
      r.floats = 0;
    }
  }

  private region(i: number, floats: number): Region {
    const r = this.regions[i];
    if (r.floats >= floats) return r;
    if (r.ptr) this.wasm._free(r.ptr);
    r.floats = Math.max(floats, r.floats * 2);
    r.ptr = this.wasm._malloc(r.floats * 4) >>> 0;
    if (!r.ptr) throw new Error('the wasm heap is full');
    return r;
  }
}

/** The fastest product engine available: XNNPACK through tfjs-wasm. */
export async function createGemm(): Promise<Gemm> {
  return WasmGemm.create();
}
