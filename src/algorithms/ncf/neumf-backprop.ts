import { transpose, type Gemm } from './gemm.js';
import { layerWidths, type NeuMFParams, type NeuMFShape } from './neumf-model.js';
import type { Random } from './random.js';

/** Gradients of one batch. Embedding gradients are per sample (row b of the batch), not yet summed per id. */
export interface NeuMFGradients {
  weights: Float32Array[];
  biases: Float32Array[];
  predictWeight: Float32Array;
  predictBias: Float32Array;
  /** `B × factorNum`: d loss / d userGmf[users[b]] and itemGmf[items[b]]. */
  userGmf: Float32Array;
  itemGmf: Float32Array;
  /** `B × 2·mlpEmbedding`: d loss / d [userMlp | itemMlp] row of sample b. */
  mlpInput: Float32Array;
}

/**
 * The hand-written forward and backward pass of NeuMF under mean binary cross-entropy on logits.
 * Dense products go through `Gemm` with explicit transposes; everything per sample (gathers, GMF,
 * predict layer, ReLU and dropout masks) is plain JavaScript over preallocated buffers.
 */
export class NeuMFBackprop {
  readonly grads: NeuMFGradients;
  private readonly widths: number[];
  private readonly acts: Float32Array[];
  private readonly inputs: Float32Array[];
  private readonly masks: Float32Array[];
  private readonly dz: Float32Array[];
  private readonly dInput: Float32Array;
  private readonly inputT: Float32Array;
  private readonly weightT: Float32Array;
  private readonly gmf: Float32Array;
  private readonly dlogit: Float32Array;

  /** `alloc` allocates the gradient arrays (shared memory when other threads read them). */
  constructor(
    shape: NeuMFShape,
    private readonly maxBatch: number,
    private readonly gemm: Gemm,
    alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
  ) {
    const F = shape.factorNum;
    const w = layerWidths(shape);
    this.widths = w;
    const B = maxBatch;
    this.acts = w.map((n) => new Float32Array(B * n));
    this.inputs = w.slice(0, -1).map((n) => new Float32Array(B * n));
    this.masks = w.slice(0, -1).map((n) => new Float32Array(B * n));
    this.dz = w.slice(1).map((n) => new Float32Array(B * n));
    this.dInput = alloc(B * w[0]);
    this.inputT = new Float32Array(B * w[0]);
    this.weightT = new Float32Array(w[0] * w[1]);
    this.gmf = new Float32Array(B * F);
    this.dlogit = new Float32Array(B);
    this.grads = {
      weights: w.slice(0, -1).map((n, l) => alloc(n * w[l + 1])),
      biases: w.slice(1).map((n) => alloc(n)),
      predictWeight: alloc(2 * F),
      predictBias: alloc(1),
      userGmf: alloc(B * F),
      itemGmf: alloc(B * F),
      mlpInput: this.dInput,
    };
  }

  /**
   * Runs forward and backward on `count` samples and fills `grads`; returns the summed loss divided
   * by `divisor` (default `count`: the batch mean; a thread working on part of a batch passes the
   * whole batch's size). With `dropout > 0` an `rng` draws the masks (inverted dropout before each
   * MLP layer).
   */
  run(
    p: NeuMFParams,
    users: Int32Array,
    items: Int32Array,
    labels: Float32Array,
    count: number,
    dropout = 0,
    rng: Random | null = null,
    divisor = count,
  ): number {
    const B = count;
    if (B > this.maxBatch) throw new Error(`batch of ${B} exceeds the workspace of ${this.maxBatch}`);
    const { factorNum: F, numLayers: L } = p.shape;
    const w = this.widths;
    const M = w[0] / 2;
    const { acts, inputs, masks, dz, gmf, dlogit, grads } = this;
    const useDropout = dropout > 0 && rng !== null;
    const keepScale = 1 / (1 - dropout);

    // Forward: gather MLP embeddings, tower, GMF, predict layer.
    const x0 = acts[0];
    for (let b = 0; b < B; b++) {
      const uo = users[b] * M;
      const io = items[b] * M;
      const xo = b * 2 * M;
      for (let d = 0; d < M; d++) x0[xo + d] = p.userMlp[uo + d];
      for (let d = 0; d < M; d++) x0[xo + M + d] = p.itemMlp[io + d];
    }
    for (let l = 0; l < L; l++) {
      let input = acts[l];
      if (useDropout) {
        const n = B * w[l];
        const mask = masks[l];
        input = inputs[l];
        for (let i = 0; i < n; i++) {
          const m = rng!.next() < dropout ? 0 : keepScale;
          mask[i] = m;
          input[i] = acts[l][i] * m;
        }
      }
      this.gemm.gemm(input, B, w[l], p.weights[l], w[l + 1], acts[l + 1], p.biases[l], true);
    }
    const last = acts[L];
    const wp = p.predictWeight;
    let loss = 0;
    for (let b = 0; b < B; b++) {
      const uo = users[b] * F;
      const io = items[b] * F;
      const go = b * F;
      let z = p.predictBias[0];
      for (let f = 0; f < F; f++) {
        const g = p.userGmf[uo + f] * p.itemGmf[io + f];
        gmf[go + f] = g;
        z += g * wp[f];
      }
      for (let f = 0; f < F; f++) z += last[go + f] * wp[F + f];
      const y = labels[b];
      loss += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
      dlogit[b] = (1 / (1 + Math.exp(-z)) - y) / divisor;
    }

    // Backward: predict layer and GMF.
    const dwp = grads.predictWeight;
    dwp.fill(0);
    let dbp = 0;
    const dzL = dz[L - 1];
    for (let b = 0; b < B; b++) {
      const g = dlogit[b];
      dbp += g;
      const uo = users[b] * F;
      const io = items[b] * F;
      const go = b * F;
      for (let f = 0; f < F; f++) {
        dwp[f] += g * gmf[go + f];
        const a = last[go + f];
        dwp[F + f] += g * a;
        const dg = g * wp[f];
        grads.userGmf[go + f] = dg * p.itemGmf[io + f];
        grads.itemGmf[go + f] = dg * p.userGmf[uo + f];
        dzL[go + f] = a > 0 ? g * wp[F + f] : 0;
      }
    }
    grads.predictBias[0] = dbp;

    // Backward through the tower: dW = inputᵀ·dZ, d input = dZ·Wᵀ, both with explicit transposes.
    for (let l = L - 1; l >= 0; l--) {
      const nIn = w[l];
      const nOut = w[l + 1];
      const input = useDropout ? inputs[l] : acts[l];
      transpose(input, B, nIn, this.inputT);
      this.gemm.gemm(this.inputT, nIn, B, dz[l], nOut, grads.weights[l]);
      const db = grads.biases[l];
      db.fill(0);
      const dzl = dz[l];
      for (let b = 0; b < B; b++) {
        const o = b * nOut;
        for (let j = 0; j < nOut; j++) db[j] += dzl[o + j];
      }
      transpose(p.weights[l], nIn, nOut, this.weightT);
      const dIn = l === 0 ? this.dInput : this.dInputScratch(l, B);
      this.gemm.gemm(dzl, B, nOut, this.weightT, nIn, dIn);
      const n = B * nIn;
      if (useDropout) {
        const mask = masks[l];
        for (let i = 0; i < n; i++) dIn[i] *= mask[i];
      }
      if (l > 0) {
        const prev = dz[l - 1];
        const a = acts[l];
        for (let i = 0; i < n; i++) prev[i] = a[i] > 0 ? dIn[i] : 0;
      }
    }
    return loss / divisor;
  }

  private dInputScratch(l: number, B: number): Float32Array {
    // dz[l-1] has the width of layer l's input; fill it in place and mask afterwards.
    return this.dz[l - 1].subarray(0, B * this.widths[l]);
  }
}
