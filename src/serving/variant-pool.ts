import { performance } from 'node:perf_hooks';
import { CapstanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ModelManifest, TensorSpec } from '../core/model-manifest.js';
import { Autoscaler } from './autoscaler.js';
import { ModelWorker, type WorkerResult } from './model-worker.js';
import { PythonModelWorker } from './python-model-worker.js';
import type { InvocationBody } from './invocation-body.js';
import type { ScalingConfig } from './scaling-config.js';
import type { EngineSpec } from './runtimes/engine.js';
import type { Tensors } from './runtimes/tensors.js';
import { compileContentTypeCheck, compileTensorCheck } from './request-validation.js';

const PYTHON_CONTENT_TYPES = ['application/json', 'text/csv'];
// After a failed start from zero, requests are refused for 1 s, doubling per failure up to 30 s.
const START_BACKOFF_BASE_MS = 1000;
const START_BACKOFF_MAX_MS = 30_000;

/** The media types a package's invocations may carry (undefined: JSON only). */
export function acceptedContentTypes(manifest: ModelManifest): string[] | undefined {
  // inference.py's default input_fn reads JSON and CSV, so a python package that names no types takes both.
  return manifest.contentTypes ?? (manifest.framework === 'python' ? PYTHON_CONTENT_TYPES : undefined);
}

/** Options of one variant's pool of workers. */
export interface VariantPoolOptions {
  /** Worker threads, each with its own copy of the model (the starting size when scaling). */
  instances: number;
  timeoutMs: number;
  logger: Logger;
  onRestart?: (reason: string) => void;
  /** Autoscaling between min and max workers; default none (a fixed size). */
  scaling?: ScalingConfig;
  /** Told the new number of workers whenever it changes. */
  onResize?: (workers: number) => void;
  /** Told how long a start from zero workers took, in ms. */
  onColdStart?: (ms: number) => void;
}

type Worker = ModelWorker | PythonModelWorker;

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** What a scaled pool reports about its scaling. */
export interface PoolScalingState {
  min: number;
  max: number;
  targetInFlight: number;
  /** Requests waiting for a worker to start from zero. */
  queued: number;
  /** Starts from zero workers so far. */
  coldStarts: number;
  /** Duration of the last start from zero, in ms; null before the first. */
  lastColdStartMs: number | null;
}

/**
 * The workers serving one production variant (a worker is one thread, or one process for python
 * models, each holding a copy of the model). Requests go to the instance with the fewest in flight
 * (round robin among equals), so one slow request does not queue others behind it when another
 * instance is free. With `scaling`, an Autoscaler resizes the pool on observed concurrency; at zero
 * workers, requests wait in a bounded queue while one worker starts.
 */
export class VariantPool {
  private workers: Worker[] = [];
  private cursor = 0;
  private readonly checkContentType: (contentType: string) => void;
  private checkTensors: (tensors: Tensors) => void = () => {};
  private cachedSignature: { inputs: TensorSpec[]; outputs: TensorSpec[] } = { inputs: [], outputs: [] };
  private readonly scaler: Autoscaler | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: Waiter[] = [];
  private coldStart: Promise<void> | undefined;
  private growing = false;
  private closed = false;
  private retiredRestarts = 0;
  private coldStarts = 0;
  private lastColdStartMs: number | null = null;
  /** The last failed start from zero, while requests are refused instead of starting another. */
  private startFailure: { error: unknown; streak: number; until: number } | undefined;

  constructor(
    private readonly spec: EngineSpec,
    private readonly options: VariantPoolOptions,
  ) {
    this.checkContentType = compileContentTypeCheck(acceptedContentTypes(spec.manifest));
    if (options.scaling) this.scaler = new Autoscaler(options.scaling, performance.now());
  }

  private newWorker(): Worker {
    const workerOptions = { timeoutMs: this.options.timeoutMs, logger: this.options.logger, onRestart: this.options.onRestart };
    // Python models run in processes of their own interpreter; the other runtimes in worker threads.
    return this.spec.manifest.framework === 'python' ? new PythonModelWorker(this.spec, workerOptions) : new ModelWorker(this.spec, workerOptions);
  }

  /** Starts every instance; if one fails to load, stops the rest and rethrows its error. */
  async start(): Promise<void> {
    const fresh = Array.from({ length: this.options.instances }, () => this.newWorker());
    const results = await Promise.allSettled(fresh.map((w) => w.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(fresh.map((w) => w.close()));
      throw failed.reason;
    }
    this.workers = fresh;
    this.cachedSignature = fresh[0].signature;
    // The runtime's signature (an ONNX graph's real inputs) is known only once a worker has loaded.
    if (this.spec.manifest.framework === 'onnx') this.checkTensors = compileTensorCheck(this.signature.inputs);
    if (this.scaler) {
      const idle = this.scaler.config.min === 0 ? this.scaler.config.idleTimeoutMs / 4 : 250;
      this.timer = setInterval(() => this.tick(), Math.max(20, Math.min(250, idle)));
      this.timer.unref();
    }
  }

  /** Number of workers running now. */
  get size(): number {
    return this.workers.length;
  }

  /** Requests in flight across the instances. */
  get inFlight(): number {
    let n = 0;
    for (const w of this.workers) n += w.inFlight;
    return n;
  }

  /** Worker replacements after crashes or hangs, summed over the instances (including ones scaled away). */
  get restarts(): number {
    let n = this.retiredRestarts;
    for (const w of this.workers) n += w.restarts;
    return n;
  }

  /** The model signature reported by the runtime (kept while the pool is scaled to zero). */
  get signature(): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
    return this.cachedSignature;
  }

  /** The scaling state, for scaled pools. */
  get scaling(): PoolScalingState | undefined {
    if (!this.scaler) return undefined;
    const { min, max, targetInFlight } = this.scaler.config;
    return { min, max, targetInFlight, queued: this.queue.length, coldStarts: this.coldStarts, lastColdStartMs: this.lastColdStartMs };
  }

  private pick(): Worker {
    const ws = this.workers;
    if (ws.length === 1) return ws[0];
    let best = ws[this.cursor++ % ws.length];
    for (const w of ws) if (w.inFlight < best.inFlight) best = w;
    return best;
  }

  /** A worker to send a request to, starting one (and waiting in the bounded queue) when the pool is at zero. */
  private async ready(): Promise<Worker> {
    const scaler = this.scaler;
    if (scaler) {
      const now = performance.now();
      scaler.observe(this.inFlight, now);
      if (this.workers.length > 0 && !this.growing && scaler.wantsUp(this.workers.length, now)) {
        scaler.scaledUp(now);
        void this.grow(Math.min(scaler.config.max, Math.ceil((this.inFlight + 1) / scaler.config.targetInFlight)));
      }
    }
    while (this.workers.length === 0) await this.waitForColdStart();
    return this.pick();
  }

  private waitForColdStart(): Promise<void> {
    if (this.closed) return Promise.reject(new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY', 'the variant is shutting down'));
    const failed = this.startFailure;
    const now = performance.now();
    // A model that cannot load would otherwise be loaded again for every request that arrives.
    if (!this.coldStart && failed && now < failed.until) {
      const retryAfter = Math.max(1, Math.ceil((failed.until - now) / 1000));
      const reason = failed.error instanceof Error ? failed.error.message : String(failed.error);
      throw new CapstanError('CAPSTAN_SERVING_COLD_START_FAILED', `the variant's last start from zero workers failed (${reason}); the next try is in ${retryAfter} s`, {
        cause: failed.error,
        fields: { failures: failed.streak, retryAfterSeconds: retryAfter },
      });
    }
    const bound = this.scaler?.config.queueSize ?? 0;
    // A refused request still starts a worker, so its retry (and everyone else's) finds one.
    this.coldStart ??= this.startFromZero().finally(() => (this.coldStart = undefined));
    if (this.queue.length >= bound) {
      const retryAfter = Math.max(1, Math.ceil((this.lastColdStartMs ?? 1000) / 1000));
      // Keep the promise: without it a short idle timeout could stop the worker before the retry comes.
      this.scaler?.expect(performance.now() + retryAfter * 1000);
      throw new CapstanError('CAPSTAN_SERVING_COLD_START_QUEUE_FULL', `the variant is starting from zero workers and ${bound} requests already wait; retry in ${retryAfter} s`, {
        fields: { queueSize: bound, retryAfterSeconds: retryAfter },
      });
    }
    return new Promise<void>((resolve, reject) => this.queue.push({ resolve, reject }));
  }

  private async startFromZero(): Promise<void> {
    const started = performance.now();
    const w = this.newWorker();
    try {
      await w.start();
    } catch (err) {
      await w.close().catch(() => {});
      const streak = (this.startFailure?.streak ?? 0) + 1;
      this.startFailure = { error: err, streak, until: performance.now() + Math.min(START_BACKOFF_MAX_MS, START_BACKOFF_BASE_MS * 2 ** (streak - 1)) };
      this.options.logger.error({ err, failures: streak }, 'a worker failed to start from zero');
      for (const q of this.queue.splice(0)) q.reject(err);
      return;
    }
    if (this.closed) {
      await w.close();
      for (const q of this.queue.splice(0)) q.reject(new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY', 'the variant is shutting down'));
      return;
    }
    const ms = performance.now() - started;
    this.startFailure = undefined;
    this.workers = [w];
    this.coldStarts++;
    this.lastColdStartMs = Math.round(ms * 10) / 10;
    this.options.onColdStart?.(ms);
    this.options.onResize?.(1);
    this.scaler?.observe(0, performance.now());
    for (const q of this.queue.splice(0)) q.resolve();
  }

  /** Adds workers up to `target`; a worker joins the rotation once its model is loaded. */
  private async grow(target: number): Promise<void> {
    this.growing = true;
    try {
      const fresh = Array.from({ length: Math.max(0, target - this.workers.length) }, () => this.newWorker());
      const results = await Promise.allSettled(fresh.map((w) => w.start()));
      for (const [i, r] of results.entries()) {
        if (r.status === 'fulfilled' && !this.closed && this.workers.length > 0) this.workers = [...this.workers, fresh[i]];
        else {
          if (r.status === 'rejected') this.options.logger.error({ err: r.reason }, 'a worker failed to start while scaling up');
          await fresh[i].close().catch(() => {});
        }
      }
      this.options.onResize?.(this.workers.length);
    } finally {
      this.growing = false;
    }
  }

  /** Removes the least busy workers down to `target`; they finish what they hold, then stop. */
  private shrink(target: number): void {
    const byLoad = [...this.workers].sort((a, b) => a.inFlight - b.inFlight);
    const leaving = new Set(byLoad.slice(0, this.workers.length - target));
    this.workers = this.workers.filter((w) => !leaving.has(w));
    this.options.onResize?.(this.workers.length);
    for (const w of leaving) {
      this.retiredRestarts += w.restarts;
      void w.drain(this.options.timeoutMs).catch((err: unknown) => this.options.logger.warn({ err }, 'a worker did not stop cleanly after scaling down'));
    }
  }

  private tick(): void {
    if (!this.scaler || this.closed || this.growing || this.coldStart) return;
    const size = this.workers.length;
    const wanted = this.scaler.decide(size, this.inFlight, performance.now());
    if (wanted > size) void this.grow(wanted);
    else if (wanted < size) this.shrink(wanted);
  }

  /** Sends one invocation to an instance. */
  invoke(body: InvocationBody, contentType: string, customAttributes?: string, accept?: string): Promise<WorkerResult> {
    this.checkContentType(contentType);
    // The common case (a fixed pool) stays synchronous up to the worker: no extra promise hop per request.
    if (this.workers.length > 0 && !this.scaler) return this.pick().invoke(body, contentType, customAttributes, accept);
    return this.ready().then((w) => w.invoke(body, contentType, customAttributes, accept));
  }

  /** Sends tensors to an instance. */
  async infer(inputs: Tensors): Promise<{ outputs: Tensors; modelMs: number }> {
    this.checkTensors(inputs);
    const w = this.workers.length > 0 && !this.scaler ? this.pick() : await this.ready();
    return w.infer(inputs);
  }

  private stop(): Worker[] {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const q of this.queue.splice(0)) q.reject(new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY', 'the variant is shutting down'));
    return this.workers;
  }

  /** Lets in-flight requests finish, then stops every instance. */
  async drain(graceMs = this.options.timeoutMs): Promise<void> {
    await Promise.all(this.stop().map((w) => w.drain(graceMs)));
  }

  /** Stops every instance now. */
  async close(): Promise<void> {
    await Promise.all(this.stop().map((w) => w.close()));
  }
}
