import type { Logger } from '../core/logger.js';
import { ModelWorker, type WorkerResult } from './model-worker.js';
import { PythonModelWorker } from './python-model-worker.js';
import type { InvocationBody } from './invocation-body.js';
import type { TensorSpec } from '../core/model-manifest.js';
import type { EngineSpec } from './runtimes/engine.js';
import type { Tensors } from './runtimes/tensors.js';
import { compileContentTypeCheck, compileTensorCheck } from './request-validation.js';

const PYTHON_CONTENT_TYPES = ['application/json', 'text/csv'];

/** Options of one variant's pool of workers. */
export interface VariantPoolOptions {
  /** Worker threads, each with its own copy of the model. */
  instances: number;
  timeoutMs: number;
  logger: Logger;
  onRestart?: (reason: string) => void;
}

/**
 * The workers serving one production variant. Requests go to the instance with the fewest in flight
 * (round robin among equals), so one slow request does not queue others behind it when another
 * instance is free.
 */
export class VariantPool {
  private readonly workers: (ModelWorker | PythonModelWorker)[];
  private cursor = 0;
  private readonly checkContentType: (contentType: string) => void;
  private checkTensors: (tensors: Tensors) => void = () => {};

  constructor(
    private readonly spec: EngineSpec,
    private readonly options: VariantPoolOptions,
  ) {
    // inference.py's default input_fn reads JSON and CSV, so a python package that names no types takes both.
    this.checkContentType = compileContentTypeCheck(spec.manifest.contentTypes ?? (spec.manifest.framework === 'python' ? PYTHON_CONTENT_TYPES : undefined));
    const workerOptions = { timeoutMs: options.timeoutMs, logger: options.logger, onRestart: options.onRestart };
    // Python models run in processes of their own interpreter; the other runtimes in worker threads.
    this.workers = Array.from({ length: options.instances }, () => (spec.manifest.framework === 'python' ? new PythonModelWorker(spec, workerOptions) : new ModelWorker(spec, workerOptions)));
  }

  /** Starts every instance; if one fails to load, stops the rest and rethrows its error. */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.workers.map((w) => w.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.close();
      throw failed.reason;
    }
    // The runtime's signature (an ONNX graph's real inputs) is known only once a worker has loaded.
    if (this.spec.manifest.framework === 'onnx') this.checkTensors = compileTensorCheck(this.signature.inputs);
  }

  /** Number of worker threads. */
  get size(): number {
    return this.workers.length;
  }

  /** Requests in flight across the instances. */
  get inFlight(): number {
    let n = 0;
    for (const w of this.workers) n += w.inFlight;
    return n;
  }

  /** Worker replacements after crashes or hangs, summed over the instances. */
  get restarts(): number {
    let n = 0;
    for (const w of this.workers) n += w.restarts;
    return n;
  }

  /** The model signature reported by the runtime. */
  get signature(): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
    return this.workers[0].signature;
  }

  private pick(): ModelWorker | PythonModelWorker {
    const ws = this.workers;
    if (ws.length === 1) return ws[0];
    let best = ws[this.cursor++ % ws.length];
    for (const w of ws) if (w.inFlight < best.inFlight) best = w;
    return best;
  }

  /** Sends one invocation to an instance. */
  invoke(body: InvocationBody, contentType: string, customAttributes?: string, accept?: string): Promise<WorkerResult> {
    this.checkContentType(contentType);
    return this.pick().invoke(body, contentType, customAttributes, accept);
  }

  /** Sends tensors to an instance. */
  infer(inputs: Tensors): Promise<{ outputs: Tensors; modelMs: number }> {
    this.checkTensors(inputs);
    return this.pick().infer(inputs);
  }

  /** Lets in-flight requests finish, then stops every instance. */
  async drain(graceMs = this.options.timeoutMs): Promise<void> {
    await Promise.all(this.workers.map((w) => w.drain(graceMs)));
  }

  /** Stops every instance now. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
