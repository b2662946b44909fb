import type { AdamState } from './adam.js';
import type { NeuMFParams } from './neumf-model.js';
import type { SharedOptimizerState } from './train-stepper.js';

/** A zeroed Float32Array on a SharedArrayBuffer. */
export function sharedFloat32(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(1, n) * 4));
}

/** A zeroed Int32Array on a SharedArrayBuffer. */
export function sharedInt32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4));
}

function copyShared(a: Float32Array): Float32Array {
  const s = sharedFloat32(a.length);
  s.set(a);
  return s;
}

/** The same weights in shared memory, so every training thread reads and updates one copy. */
export function sharedParams(p: NeuMFParams): NeuMFParams {
  return {
    shape: { ...p.shape },
    userGmf: copyShared(p.userGmf),
    itemGmf: copyShared(p.itemGmf),
    userMlp: copyShared(p.userMlp),
    itemMlp: copyShared(p.itemMlp),
    weights: p.weights.map(copyShared),
    biases: p.biases.map(copyShared),
    predictWeight: copyShared(p.predictWeight),
    predictBias: copyShared(p.predictBias),
  };
}

/** Zeroed Adam moments (and last-update steps of embedding rows) in shared memory. */
export function sharedOptimizerState(p: NeuMFParams): SharedOptimizerState {
  const moments = (arrays: Float32Array[]): AdamState => ({ m: arrays.map((a) => sharedFloat32(a.length)), v: arrays.map((a) => sharedFloat32(a.length)) });
  return {
    dense: moments([...p.weights, ...p.biases, p.predictWeight, p.predictBias]),
    users: { ...moments([p.userGmf, p.userMlp]), lastStep: sharedInt32(p.shape.numUsers) },
    items: { ...moments([p.itemGmf, p.itemMlp]), lastStep: sharedInt32(p.shape.numItems) },
  };
}
