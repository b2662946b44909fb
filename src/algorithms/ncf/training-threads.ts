import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CapstanError } from '../../core/errors.js';
import type { NeuMFGradients } from './neumf-backprop.js';
import type { WorkerCommand, WorkerInit } from './train-worker.js';

type Reply = { type: 'ready'; grads: NeuMFGradients } | { type: 'epochDone'; loss: number } | { type: 'error'; message: string };

/**
 * Starts the worker script next to this module: the compiled file directly, or, when running from
 * TypeScript sources, a bootstrap that loads it through tsx (Node 20 does not apply `--import` hooks
 * to a worker's entry file).
 */
function spawnWorker(): Worker {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here);
  const file = path.join(path.dirname(here), `train-worker${ext}`);
  if (ext !== '.ts') return new Worker(file);
  const url = pathToFileURL(file).href;
  // Resolved here: the worker's own resolution starts from the working directory, which may lack tsx.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ tsImport }) => tsImport(${JSON.stringify(url)}, ${JSON.stringify(url)}));`;
  return new Worker(bootstrap, { eval: true, execArgv: [] });
}

/** A helper thread that trains its share of each batch (see `TrainStepper`), driven from the main thread. */
export class TrainingThread {
  private pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (r: Reply) => {
      if (r.type === 'error') this.fail(new CapstanError('CAPSTAN_INTERNAL', 'a training thread failed', { cause: new Error(r.message) }));
      else this.settle(r);
    });
    worker.on('error', (err) => this.fail(new CapstanError('CAPSTAN_INTERNAL', 'a training thread failed', { cause: err })));
    worker.on('exit', (code) => {
      if (code !== 0) this.fail(new CapstanError('CAPSTAN_INTERNAL', `a training thread exited with code ${code}`));
    });
  }

  /** Starts the thread and waits until its wasm backend is up; returns it with its gradient buffers. */
  static async start(init: WorkerInit): Promise<{ thread: TrainingThread; grads: NeuMFGradients }> {
    const thread = new TrainingThread(spawnWorker());
    const ready = thread.next();
    thread.worker.postMessage(init);
    const reply = await ready;
    if (reply.type !== 'ready') throw new CapstanError('CAPSTAN_INTERNAL', 'a training thread did not start');
    return { thread, grads: reply.grads };
  }

  /** Tells the thread where every thread's gradients live. */
  setPeers(grads: NeuMFGradients[]): void {
    this.send({ type: 'peers', grads });
  }

  /** Starts an epoch on the thread; the promise gives its share of the loss when the epoch is done. */
  startEpoch(count: number, firstStep: number): Promise<number> {
    const done = this.next();
    this.send({ type: 'epoch', count, firstStep });
    return done.then((r) => (r.type === 'epochDone' ? r.loss : 0));
  }

  /** Stops the thread. */
  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private send(cmd: WorkerCommand): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(cmd);
  }

  private next(): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.pending = { resolve, reject }));
  }

  private settle(r: Reply): void {
    const p = this.pending;
    this.pending = null;
    p?.resolve(r);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const p = this.pending;
    this.pending = null;
    p?.reject(err);
  }
}
