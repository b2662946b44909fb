import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CapstanError, errorCatalogue, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { builtinHandlerModules } from './handlers/handler-registry.js';
import type { TensorSpec } from '../core/model-manifest.js';
import type { EngineSpec } from './runtimes/engine.js';
import { bodyText, type InvocationBody } from './invocation-body.js';
import type { Tensors } from './runtimes/tensors.js';
import { InFlightTable } from './in-flight-table.js';
import { MessageOutbox } from './runtimes/message-outbox.js';
import { transferables, type Batch, type FromWorker, type ToWorker, type WireError, type WorkerAnswer, type WorkerInit } from './runtimes/worker-protocol.js';

// The published package runs the compiled .js worker. Under tsx (tests, benchmarks) the sources are
// .ts, and worker threads do not get tsx's loader hooks on Node 20 (importing through tsx inside a
// worker can even deadlock the loader), so the worker — with the built-in handler modules registered
// outside serving — is bundled once with esbuild (the compiler tsx itself uses) into cached .mjs
// files keyed by the sources' content. Code splitting keeps one copy of shared modules (the error
// catalogue), so a handler's CapstanError is the worker's CapstanError.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_SOURCE = fileURLToPath(new URL(`./runtimes/runtime-worker${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url));
const bundles = new Map<string, Promise<WorkerEntry>>();

/** The worker script and the handler module URLs it imports. */
interface WorkerEntry {
  script: string;
  handlerModules: Record<string, string>;
}

function sourceDigest(handlers: Record<string, string>): string {
  const hash = createHash('sha256').update(JSON.stringify(handlers));
  const srcRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) hash.update(full).update(readFileSync(full));
    }
  };
  for (const dir of ['core', 'serving', 'algorithms']) if (existsSync(path.join(srcRoot, dir))) walk(path.join(srcRoot, dir));
  return hash.digest('hex').slice(0, 16);
}

function workerEntry(): Promise<WorkerEntry> {
  const handlers = builtinHandlerModules();
  if (!FROM_SOURCE) return Promise.resolve({ script: WORKER_SOURCE, handlerModules: handlers });
  const key = JSON.stringify(handlers);
  // One bundling per process and handler set, however many workers start at once.
  let bundled = bundles.get(key);
  if (!bundled) {
    bundled = (async () => {
      // Inside node_modules/.cache so the bundle resolves the same packages the sources do.
      const cacheDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node_modules/.cache/capstan');
      const out = path.join(cacheDir, `runtime-worker-${sourceDigest(handlers)}`);
      const names = Object.keys(handlers);
      if (!existsSync(out)) {
        mkdirSync(cacheDir, { recursive: true });
        const esbuild = (await import('esbuild')) as typeof import('esbuild');
        const tmp = `${out}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
        const entryPoints: Record<string, string> = { 'runtime-worker': WORKER_SOURCE };
        names.forEach((name, i) => (entryPoints[`handler-${i}`] = fileURLToPath(handlers[name]!)));
        await esbuild.build({
          entryPoints, bundle: true, splitting: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external',
          outdir: tmp, outExtension: { '.js': '.mjs' }, logLevel: 'silent',
        });
        try {
          renameSync(tmp, out);
        } catch {
          // Another process bundled the same sources first; its copy is identical.
          rmSync(tmp, { recursive: true, force: true });
        }
      }
      return {
        script: path.join(out, 'runtime-worker.mjs'),
        handlerModules: Object.fromEntries(names.map((name, i) => [name, pathToFileURL(path.join(out, `handler-${i}.mjs`)).href])),
      };
    })();
    bundled.catch(() => bundles.delete(key));
    bundles.set(key, bundled);
  }
  return bundled;
}

/**
 * The model thread's young generation, in MB (Node's default for a worker is 48). With the default, once
 * V8's memory reducer had lowered the thread's old-generation limit after a burst, the thread ran a
 * mark-compact every few hundred milliseconds on a 12 MB heap for as long as the server ran, and the
 * p99 at 4,000/s rose from 8 ms to 17-22 ms; with this cap it did not happen (decision 0036).
 */
const MODEL_THREAD_YOUNG_GENERATION_MB = 24;

/** The longest a request waits for a crashed worker's replacement before it answers 504. */
const RESTART_WAIT_MS = 30_000;

/** A worker's answer to one invocation. */
export interface WorkerResult {
  /** Text from the JS runtimes, the exact bytes from a Python model. */
  body: InvocationBody;
  contentType: string;
  modelMs: number;
}

/** Options of one model worker. */
export interface ModelWorkerOptions {
  /** Requests slower than this answer 504; default 60000 ms. */
  timeoutMs: number;
  logger: Logger;
  /** Called each time a crashed or wedged worker is replaced. */
  onRestart?: (reason: string) => void;
}

interface Pending {
  resolve: (value: any) => void;
  reject: (err: CapstanError) => void;
  deadline: number;
}

/** Rebuilds a CapstanError from its wire form; unknown codes become a model error. */
export function fromWire(e: WireError): CapstanError {
  const code = (e.code in errorCatalogue ? e.code : 'CAPSTAN_SERVING_MODEL_ERROR') as ErrorCode;
  return new CapstanError(code, e.detail, { fields: e.fields });
}

/**
 * The gateway's handle on one worker thread running one model. Requests carry ids and resolve when
 * the worker answers; a sweeper answers 504 for requests past their deadline. A worker that crashes,
 * or stays silent past a deadline (stuck in a loop), is replaced and counted; its in-flight requests
 * fail with CAPSTAN_SERVING_MODEL_CRASHED while the others keep being served.
 */
export class ModelWorker {
  private worker: Worker | undefined;
  private starting: Worker | undefined;
  private readonly pending = new InFlightTable<Pending>();
  private closing = false;
  private lastHeardAt = Date.now();
  private consecutiveCrashes = 0;
  private readonly sweeper: NodeJS.Timeout;
  private readonly heartbeatMs: number;
  /** Times this worker was replaced after a crash or a hang. */
  restarts = 0;
  /** The model's signature as the runtime reports it, once started. */
  signature: { inputs: TensorSpec[]; outputs: TensorSpec[] } = { inputs: [], outputs: [] };

  constructor(
    private readonly spec: EngineSpec,
    private readonly options: ModelWorkerOptions,
  ) {
    this.heartbeatMs = Math.max(5, Math.min(1000, Math.floor(options.timeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), this.heartbeatMs);
    this.sweeper.unref();
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Starts the thread and resolves once the model is loaded; rejects with the load error. */
  async start(): Promise<void> {
    const entry = await workerEntry();
    return new Promise<void>((resolve, reject) => {
      // The bundle is plain JavaScript: workers need none of the parent's loader flags (tsx).
      const init: WorkerInit = { spec: this.spec, heartbeatMs: this.heartbeatMs, handlerModules: entry.handlerModules };
      const worker = new Worker(entry.script, { workerData: init, execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: MODEL_THREAD_YOUNG_GENERATION_MB } });
      this.starting = worker;
      let ready = false;
      worker.on('message', (m: FromWorker | Batch<WorkerAnswer>) => {
        this.lastHeardAt = Date.now();
        if (m.t === 'batch') {
          for (const answer of m.messages) this.settle(answer);
          return;
        }
        if (m.t === 'beat') return;
        if (m.t === 'ready') {
          ready = true;
          this.worker = worker;
          this.starting = undefined;
          this.signature = { inputs: m.inputs, outputs: m.outputs };
          // Requests that arrived while a crashed thread was being replaced go to the new one.
          const handedOver = Date.now() + this.options.timeoutMs;
          for (const message of this.queued.splice(0)) {
            const p = this.pending.get(message.id);
            if (!p) continue;
            p.deadline = handedOver;
            this.outbox.push(message);
          }
          resolve();
        } else if (m.t === 'failed') {
          if (m.error.cause) this.options.logger.warn({ cause: m.error.cause, code: m.error.code }, 'model failed to load');
          reject(fromWire(m.error));
        } else this.settle(m);
      });
      worker.on('error', (err) => {
        if (!ready) reject(new CapstanError('CAPSTAN_SERVING_MODEL_LOAD_FAILED', 'the model worker failed while loading', { cause: err }));
        else this.crashed(worker, `uncaught error: ${err.message}`);
      });
      worker.on('exit', (code) => {
        if (!ready) reject(new CapstanError('CAPSTAN_SERVING_MODEL_LOAD_FAILED', `the model worker exited while loading (code ${code})`));
        else this.crashed(worker, `exited with code ${code}`);
      });
    });
  }

  private settle(m: WorkerAnswer): void {
    const p = this.pending.take(m.id);
    if (!p) return; // already answered 504
    this.consecutiveCrashes = 0;
    if (m.t === 'error') {
      if (m.error.cause && m.error.code === 'CAPSTAN_SERVING_MODEL_ERROR') this.options.logger.warn({ cause: m.error.cause }, 'model error');
      p.reject(fromWire(m.error));
    } else if (m.t === 'result') p.resolve({ body: m.body, contentType: m.contentType, modelMs: m.modelMs });
    else p.resolve({ outputs: m.outputs, modelMs: m.modelMs });
  }

  private crashed(worker: Worker, reason: string): void {
    if (this.worker !== worker || this.closing) return;
    this.worker = undefined;
    this.failAll(new CapstanError('CAPSTAN_SERVING_MODEL_CRASHED', 'the model worker stopped while handling the request; it is being restarted'));
    this.restarts++;
    this.consecutiveCrashes++;
    this.options.logger.error({ reason, model: this.spec.manifest.name }, 'model worker crashed; restarting');
    this.options.onRestart?.(reason);
    // Back off when a model crashes over and over, so a poison request cannot spin a core.
    const delay = Math.min(5000, 50 * 2 ** Math.min(this.consecutiveCrashes - 1, 7));
    this.respawn(delay);
  }

  private respawn(delay: number): void {
    setTimeout(() => {
      if (this.closing) return;
      this.start().catch((err) => {
        this.options.logger.error({ err }, 'model worker restart failed; retrying');
        this.consecutiveCrashes++;
        this.respawn(Math.min(5000, 50 * 2 ** Math.min(this.consecutiveCrashes - 1, 7)));
      });
    }, delay).unref();
  }

  private failAll(err: CapstanError): void {
    for (const p of this.pending.takeAll()) p.reject(err);
  }

  private sweep(): void {
    const now = Date.now();
    let expired = false;
    this.pending.forEach((p, id) => {
      if (p.deadline > now) return;
      this.pending.take(id);
      expired = true;
      p.reject(new CapstanError('CAPSTAN_SERVING_MODEL_TIMEOUT', `the model did not answer within ${this.options.timeoutMs} ms`, { fields: { timeoutMs: this.options.timeoutMs } }));
    });
    // No answer and no heartbeat for a whole timeout: the thread is stuck in synchronous code; replace it.
    if (this.worker && (expired || this.pending.size > 0) && now - this.lastHeardAt >= this.options.timeoutMs) {
      const stuck = this.worker;
      this.crashed(stuck, 'no answer and no heartbeat within the timeout');
      void stuck.terminate();
    }
  }

  // Requests of one event-loop turn go to the thread in one post. With no thread at the end of the
  // turn, it crashed after they were queued, and failAll has already answered them.
  private readonly outbox = new MessageOutbox<ToWorker>((parcel, transfer) => this.worker?.postMessage(parcel, transfer), transferables);

  /** Sends `message` under an id of the in-flight table (whatever id it carries is replaced). */
  private send<T>(message: ToWorker): Promise<T> {
    if (this.closing) return Promise.reject(new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY', 'the model is shutting down'));
    return new Promise<T>((resolve, reject) => {
      const now = Date.now();
      if (this.worker) {
        // A thread with nothing to do is asleep: the first request gets it going at once, and what
        // arrives while it works follows in one parcel at the end of the turn.
        const idle = this.pending.size === 0;
        message.id = this.pending.add({ resolve, reject, deadline: now + this.options.timeoutMs });
        this.outbox.push(message);
        if (idle) this.outbox.flush();
      } else {
        // Between a crash and the restart there is no thread: the request waits for the new one, and
        // its model timeout starts when it is handed over (loading a model can take longer than that).
        message.id = this.pending.add({ resolve, reject, deadline: now + Math.max(this.options.timeoutMs, RESTART_WAIT_MS) });
        this.queued.push(message);
      }
    });
  }

  private readonly queued: ToWorker[] = [];

  /** Sends one invocation; the JS runtimes read JSON, so the body goes to the thread as text. */
  invoke(body: InvocationBody, contentType: string, customAttributes?: string): Promise<WorkerResult> {
    return this.send({ t: 'invoke', id: 0, body: bodyText(body), contentType, ...(customAttributes ? { customAttributes } : {}) });
  }

  /** Sends tensors (Open Inference Protocol); their buffers are transferred, not copied. */
  infer(inputs: Tensors): Promise<{ outputs: Tensors; modelMs: number }> {
    return this.send({ t: 'infer', id: 0, inputs });
  }

  /** Waits for in-flight requests (up to `graceMs`), then stops the thread. */
  async drain(graceMs = this.options.timeoutMs): Promise<void> {
    const until = Date.now() + graceMs;
    while (this.pending.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    await this.close();
  }

  /** Stops the thread now; in-flight requests fail. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    this.failAll(new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY', 'the model was stopped'));
    const threads = [this.worker, this.starting];
    this.worker = this.starting = undefined;
    await Promise.all(threads.map((w) => w?.terminate()));
  }
}
