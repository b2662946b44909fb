// Entry of a training helper thread: runs its share of every batch in lockstep with the main thread.
import { parentPort } from 'node:worker_threads';
import type { NeuMFParams } from './neumf-model.js';
import { SpinBarrier } from './spin-barrier.js';
import { TrainStepper, type SampleBuffers, type SharedOptimizerState, type StepperSettings } from './train-stepper.js';
import type { NeuMFGradients } from './neumf-backprop.js';
import { createGemm } from './wasm-gemm.js';

/** The first message a helper thread receives. */
export interface WorkerInit {
  params: NeuMFParams;
  state: SharedOptimizerState;
  samples: SampleBuffers;
  settings: StepperSettings;
  ctrl: Int32Array;
}

/** Messages after the first. */
export type WorkerCommand = { type: 'peers'; grads: NeuMFGradients[] } | { type: 'epoch'; count: number; firstStep: number } | { type: 'stop' };

const port = parentPort!;
let stepper: TrainStepper | null = null;
let init: WorkerInit | null = null;
let barrier: SpinBarrier | null = null;

port.on('message', (msg: WorkerInit | WorkerCommand) => {
  void handle(msg).catch((err: unknown) => {
    barrier?.fail();
    port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  });
});

async function handle(msg: WorkerInit | WorkerCommand): Promise<void> {
  if (!('type' in msg)) {
    init = msg;
    barrier = new SpinBarrier(msg.ctrl, msg.settings.parts);
    const shared = (n: number) => new Float32Array(new SharedArrayBuffer(n * 4));
    stepper = new TrainStepper(msg.params, await createGemm(), msg.settings, msg.state, barrier, shared);
    port.postMessage({ type: 'ready', grads: stepper.backprop.grads });
    return;
  }
  if (msg.type === 'peers') stepper!.setPeers(msg.grads);
  else if (msg.type === 'epoch') port.postMessage({ type: 'epochDone', loss: stepper!.runEpoch(init!.samples, msg.count, msg.firstStep) });
  else if (msg.type === 'stop') port.close();
}
