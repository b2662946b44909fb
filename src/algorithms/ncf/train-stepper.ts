import { adamSettings, DenseAdam, SparseRowAdam, type AdamState } from './adam.js';
import type { Gemm } from './gemm.js';
import { NeuMFBackprop, type NeuMFGradients } from './neumf-backprop.js';
import { mlpEmbeddingSize, type NeuMFParams } from './neumf-model.js';
import { Random } from './random.js';
import type { SpinBarrier } from './spin-barrier.js';

/** Optimiser state shared by the threads of one training run. */
export interface SharedOptimizerState {
  dense: AdamState;
  users: AdamState & { lastStep: Int32Array };
  items: AdamState & { lastStep: Int32Array };
}

/** An epoch's samples, in memory every thread can read. */
export interface SampleBuffers {
  user: Int32Array;
  item: Int32Array;
  label: Float32Array;
}

/** Settings of a stepper. */
export interface StepperSettings {
  lr: number;
  dropout: number;
  batchSize: number;
  seed: number;
  /** This thread's index and the thread count: thread k takes the k-th share of every batch and owns rows ≡ k (mod parts). */
  part: number;
  parts: number;
}

/**
 * Runs the optimisation steps of an epoch for one thread. Every batch is split between the threads:
 * each runs forward and backward on its share (loss scaled by the whole batch), then, after a
 * barrier, each applies Adam to its slice of the dense weights and to the embedding rows it owns,
 * summing all threads' gradients; a second barrier ends the step. With one thread this is plain
 * minibatch training.
 */
export class TrainStepper {
  readonly backprop: NeuMFBackprop;
  private readonly dense: DenseAdam;
  private readonly users: SparseRowAdam;
  private readonly items: SparseRowAdam;
  private readonly rng: Random;
  private peers: NeuMFGradients[] = [];
  private peerDense: Float32Array[][] = [];
  private readonly F: number;
  private readonly M: number;

  constructor(
    private readonly params: NeuMFParams,
    gemm: Gemm,
    private readonly s: StepperSettings,
    state: SharedOptimizerState | null,
    private readonly barrier: SpinBarrier | null,
    alloc: (n: number) => Float32Array = (n) => new Float32Array(n),
  ) {
    const shape = params.shape;
    this.F = shape.factorNum;
    this.M = mlpEmbeddingSize(shape);
    this.backprop = new NeuMFBackprop(shape, s.batchSize, gemm, alloc);
    const settings = adamSettings(s.lr);
    const denseParams = [...params.weights, ...params.biases, params.predictWeight, params.predictBias];
    this.dense = new DenseAdam(denseParams, settings, state?.dense, s.part, s.parts);
    this.users = new SparseRowAdam(
      [
        { weights: params.userGmf, dim: this.F },
        { weights: params.userMlp, dim: this.M },
      ],
      shape.numUsers,
      s.batchSize,
      settings,
      state?.users,
      s.part,
      s.parts,
    );
    this.items = new SparseRowAdam(
      [
        { weights: params.itemGmf, dim: this.F },
        { weights: params.itemMlp, dim: this.M },
      ],
      shape.numItems,
      s.batchSize,
      settings,
      state?.items,
      s.part,
      s.parts,
    );
    this.rng = new Random(s.seed + 7919 * (s.part + 1));
  }

  /** Gradients of every thread, indexed by part (this thread's included), once known. */
  setPeers(grads: NeuMFGradients[]): void {
    this.peers = grads;
    this.peerDense = grads.map((g) => [...g.weights, ...g.biases, g.predictWeight, g.predictBias]);
  }

  /** Brings all embedding rows up to step t (single-threaded moment: no other thread runs). */
  flush(t: number): void {
    this.users.flush(t);
    this.items.flush(t);
  }

  /** Runs the steps firstStep, firstStep+1, … over `count` samples; returns this thread's share of the summed mean losses, weighted by batch size. */
  runEpoch(samples: SampleBuffers, count: number, firstStep: number, onBatch?: (done: number, lossSum: number) => void): number {
    const { batchSize: B, parts, part, dropout } = this.s;
    if (this.peers.length === 0) this.setPeers([this.backprop.grads]);
    const peers = this.peers;
    const peerDense = this.peerDense;
    const F = this.F;
    const M = this.M;
    let step = firstStep;
    let lossSum = 0;
    for (let start = 0; start < count; start += B) {
      const n = Math.min(B, count - start);
      const bounds = shares(n, parts);
      const lo = start + bounds[part];
      const mine = bounds[part + 1] - bounds[part];
      if (mine > 0) {
        const loss = this.backprop.run(
          this.params,
          samples.user.subarray(lo, lo + mine),
          samples.item.subarray(lo, lo + mine),
          samples.label.subarray(lo, lo + mine),
          mine,
          dropout,
          dropout > 0 ? this.rng : null,
          n,
        );
        lossSum += loss * n;
      }
      this.barrier?.wait();
      // A thread whose share is empty (a last batch of one sample) contributes no gradient.
      const active: Float32Array[][] = [];
      for (let k = 0; k < parts; k++) if (bounds[k + 1] > bounds[k]) active.push(peerDense[k]);
      this.dense.step(step, active[0], active.slice(1));
      for (let k = 0; k < parts; k++) {
        const c = bounds[k + 1] - bounds[k];
        if (c === 0) continue;
        const at = start + bounds[k];
        const g = peers[k];
        this.users.accumulate(samples.user.subarray(at, at + c), c, [g.userGmf, g.mlpInput], [F, 2 * M], [0, 0]);
        this.items.accumulate(samples.item.subarray(at, at + c), c, [g.itemGmf, g.mlpInput], [F, 2 * M], [0, M]);
      }
      this.users.apply(step);
      this.items.apply(step);
      this.barrier?.wait();
      step++;
      onBatch?.(start + n, lossSum);
    }
    return lossSum;
  }
}

/** Split points of n samples over `parts` threads: thread k takes [b[k], b[k+1]). */
function shares(n: number, parts: number): number[] {
  const b = [0];
  for (let k = 1; k <= parts; k++) b.push(Math.ceil((n * k) / parts));
  return b;
}
