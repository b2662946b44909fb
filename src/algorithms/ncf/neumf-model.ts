import type { Gemm } from './gemm.js';
import type { Random } from './random.js';

/** Shape of a NeuMF network. */
export interface NeuMFShape {
  numUsers: number;
  numItems: number;
  /** GMF embedding size (= width of the last MLP layer). */
  factorNum: number;
  numLayers: number;
}

/**
 * NeuMF weights (He et al., 2017): GMF and MLP embeddings for users and items, an MLP tower whose
 * first layer takes both MLP embeddings and halves its width each layer down to `factorNum`, and a
 * predict layer over [GMF product, last MLP activation]. Matrices are row-major `[in][out]`.
 */
export interface NeuMFParams {
  shape: NeuMFShape;
  userGmf: Float32Array;
  itemGmf: Float32Array;
  userMlp: Float32Array;
  itemMlp: Float32Array;
  /** Per MLP layer l: weights `[in_l × out_l]` and bias `[out_l]`. */
  weights: Float32Array[];
  biases: Float32Array[];
  /** Predict layer over `2·factorNum` inputs (GMF first). */
  predictWeight: Float32Array;
  predictBias: Float32Array;
}

/** MLP embedding width: factor_num·2^(num_layers−1). */
export function mlpEmbeddingSize(shape: NeuMFShape): number {
  return shape.factorNum * 2 ** (shape.numLayers - 1);
}

/** Widths of the MLP tower: [2·mlpEmbedding, …, factorNum]. */
export function layerWidths(shape: NeuMFShape): number[] {
  const widths = [2 * mlpEmbeddingSize(shape)];
  for (let l = 0; l < shape.numLayers; l++) widths.push(widths[l] / 2);
  return widths;
}

/**
 * Fresh weights, initialised like the reference PyTorch NeuMF: embeddings N(0, 0.01²), MLP layers
 * Xavier-uniform, predict layer Kaiming-uniform for a sigmoid (bound √(3/fan_in)), biases zero.
 */
export function initNeuMF(shape: NeuMFShape, rng: Random): NeuMFParams {
  const F = shape.factorNum;
  const M = mlpEmbeddingSize(shape);
  const normal = (n: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = 0.01 * rng.normal();
    return a;
  };
  const uniform = (n: number, bound: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (2 * rng.next() - 1) * bound;
    return a;
  };
  const widths = layerWidths(shape);
  const weights: Float32Array[] = [];
  const biases: Float32Array[] = [];
  for (let l = 0; l < shape.numLayers; l++) {
    const fanIn = widths[l];
    const fanOut = widths[l + 1];
    weights.push(uniform(fanIn * fanOut, Math.sqrt(6 / (fanIn + fanOut))));
    biases.push(new Float32Array(fanOut));
  }
  return {
    shape: { ...shape },
    userGmf: normal(shape.numUsers * F),
    itemGmf: normal(shape.numItems * F),
    userMlp: normal(shape.numUsers * M),
    itemMlp: normal(shape.numItems * M),
    weights,
    biases,
    predictWeight: uniform(2 * F, Math.sqrt(3 / (2 * F))),
    predictBias: new Float32Array(1),
  };
}

/** Every weight array of a model, in a fixed order (for copying, checksums and tests). */
export function paramArrays(p: NeuMFParams): Float32Array[] {
  return [p.userGmf, p.itemGmf, p.userMlp, p.itemMlp, ...p.weights, ...p.biases, p.predictWeight, p.predictBias];
}

/** A deep copy. */
export function cloneNeuMF(p: NeuMFParams): NeuMFParams {
  return {
    shape: { ...p.shape },
    userGmf: p.userGmf.slice(),
    itemGmf: p.itemGmf.slice(),
    userMlp: p.userMlp.slice(),
    itemMlp: p.itemMlp.slice(),
    weights: p.weights.map((w) => w.slice()),
    biases: p.biases.map((b) => b.slice()),
    predictWeight: p.predictWeight.slice(),
    predictBias: p.predictBias.slice(),
  };
}

/** Overwrites `dst` with `src` (same shape), reusing its buffers. */
export function copyNeuMF(src: NeuMFParams, dst: NeuMFParams): void {
  const a = paramArrays(src);
  const b = paramArrays(dst);
  for (let i = 0; i < a.length; i++) b[i].set(a[i]);
}

/**
 * Scores user–item pairs (dense ids) with the network, no dropout: `out[i]` is the logit, or the
 * probability when `sigmoid` is set. Works in chunks so evaluation of many candidates stays batched.
 */
export class NeuMFScorer {
  private chunk: number;
  private acts: Float32Array[];

  constructor(
    private readonly params: NeuMFParams,
    private readonly gemm: Gemm,
    chunk = 4096,
  ) {
    this.chunk = chunk;
    this.acts = layerWidths(params.shape).map((w) => new Float32Array(chunk * w));
  }

  /** Writes one score per pair into `out`. */
  score(users: Int32Array, items: Int32Array, out: Float32Array, sigmoid = false): void {
    const p = this.params;
    const { factorNum: F, numLayers: L } = p.shape;
    const M = mlpEmbeddingSize(p.shape);
    const widths = layerWidths(p.shape);
    const acts = this.acts;
    for (let start = 0; start < users.length; start += this.chunk) {
      const B = Math.min(this.chunk, users.length - start);
      const x0 = acts[0];
      for (let b = 0; b < B; b++) {
        x0.set(p.userMlp.subarray(users[start + b] * M, users[start + b] * M + M), b * 2 * M);
        x0.set(p.itemMlp.subarray(items[start + b] * M, items[start + b] * M + M), b * 2 * M + M);
      }
      for (let l = 0; l < L; l++) this.gemm.gemm(acts[l], B, widths[l], p.weights[l], widths[l + 1], acts[l + 1], p.biases[l], true);
      const last = acts[L];
      const wp = p.predictWeight;
      for (let b = 0; b < B; b++) {
        const uo = users[start + b] * F;
        const io = items[start + b] * F;
        let z = p.predictBias[0];
        for (let f = 0; f < F; f++) z += p.userGmf[uo + f] * p.itemGmf[io + f] * wp[f];
        const lo = b * F;
        for (let f = 0; f < F; f++) z += last[lo + f] * wp[F + f];
        out[start + b] = sigmoid ? 1 / (1 + Math.exp(-z)) : z;
      }
    }
  }
}
