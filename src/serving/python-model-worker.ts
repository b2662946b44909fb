import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CapstanError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { TensorSpec } from '../core/model-manifest.js';
import type { WorkerResult } from './model-worker.js';
import { InFlightTable } from './in-flight-table.js';
import { bodyBytes, type InvocationBody } from './invocation-body.js';
import { Batcher } from './runtimes/batcher.js';
import type { EngineSpec } from './runtimes/engine.js';
import { encodeFrame, FrameReader, type Frame } from './runtimes/python-frames.js';
import type { Tensors } from './runtimes/tensors.js';
import type { WireError } from './runtimes/worker-protocol.js';

/** The worker script: beside this module in the sources, copied beside the compiled module by the build. */
const WORKER_SCRIPT = fileURLToPath(new URL('./runtimes/python-worker.py', import.meta.url));

/** Interpreter of a variant that names none. */
export const DEFAULT_PYTHON = 'python3';

/** The longest a request waits for a crashed worker's replacement before it answers 504. */
const RESTART_WAIT_MS = 30_000;

/** Host variables a model process sees; the server's secrets (database URLs, keys) stay out. */
const PASSED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'PYENV_ROOT', 'PYENV_VERSION', 'VIRTUAL_ENV', 'PYTHONPATH', 'LD_LIBRARY_PATH'];

/** Options of one Python worker process. */
export interface PythonWorkerOptions {
  /** Requests slower than this answer 504 and the process is replaced; default 60000 ms. */
  timeoutMs: number;
  logger: Logger;
  /** Called each time a crashed or wedged process is replaced. */
  onRestart?: (reason: string) => void;
}

interface Job {
  body: Buffer;
  contentType: string;
  accept: string;
  customAttributes?: string;
  deadline: number;
  settled: boolean;
  /** Its id in the table of requests in flight. */
  key: number;
  resolve: (r: WorkerResult) => void;
  reject: (e: CapstanError) => void;
}

interface InFlight {
  id: number;
  jobs: Job[];
  done: () => void;
}

/** The codes python-worker.py answers with; anything else a process writes is taken as a model error. */
const WORKER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CAPSTAN_SERVING_MODEL_ERROR',
  'CAPSTAN_SERVING_MODEL_LOAD_FAILED',
  'CAPSTAN_SERVING_MODEL_PACKAGE_INVALID',
  'CAPSTAN_SERVING_INVALID_INPUT',
  'CAPSTAN_SERVING_MALFORMED_JSON',
  'CAPSTAN_SERVING_PYTHON_DEPENDENCY_MISSING',
  'CAPSTAN_SERVING_PYTHON_OUTPUT_INVALID',
]);

function fromWire(e: WireError): CapstanError {
  // The process runs the package's code: it must not be able to answer as, say, an auth failure.
  const code = WORKER_CODES.has(e.code as ErrorCode) ? (e.code as ErrorCode) : 'CAPSTAN_SERVING_MODEL_ERROR';
  return new CapstanError(code, String(e.detail).slice(0, 1000), { fields: e.fields });
}

function childEnv(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of PASSED_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
  // Numeric libraries start a thread per core by default; workers scale by processes instead.
  for (const name of ['OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS']) env[name] = process.env[name] ?? String(threads);
  env.PYTHONDONTWRITEBYTECODE = '1';
  env.PYTHONUNBUFFERED = '1';
  return env;
}

/**
 * One long-lived Python process serving one model package through its `inference.py` (decision 0018).
 * Requests queue in a batcher that keeps one frame in the process at a time, merging queued requests
 * when `inference.py` sets PREDICT_BATCH. A request past its deadline answers 504 and the process is
 * killed and replaced; a process that dies is restarted with backoff and counted. The Python
 * traceback of a failure goes to the server log, never into the answer.
 */
export class PythonModelWorker {
  private child: ChildProcess | undefined;
  private starting: ChildProcess | undefined;
  private batcher: Batcher<Job, void> | undefined;
  private inflight: InFlight | undefined;
  private readonly jobs = new InFlightTable<Job>();
  private readyWaiters: (() => void)[] = [];
  private nextId = 1;
  private closing = false;
  private consecutiveCrashes = 0;
  private respawnTimer: NodeJS.Timeout | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private readonly interpreter: string;
  private readonly accept: string;
  /** Times this process was replaced after a crash or a timeout. */
  restarts = 0;
  /** The signature model.json declares (Python models report none of their own). */
  readonly signature: { inputs: TensorSpec[]; outputs: TensorSpec[] };

  constructor(
    private readonly spec: EngineSpec,
    private readonly options: PythonWorkerOptions,
  ) {
    this.interpreter = spec.options.interpreter ?? DEFAULT_PYTHON;
    const accept = spec.options.handlerOptions.accept;
    this.accept = typeof accept === 'string' && accept ? accept : 'application/json';
    this.signature = spec.manifest.signature;
    this.sweeper = setInterval(() => this.sweep(), Math.max(5, Math.min(1000, Math.floor(options.timeoutMs / 4))));
    this.sweeper.unref();
  }

  /** Requests accepted and not yet answered. */
  get inFlight(): number {
    return this.jobs.size;
  }

  /** Starts the process and resolves once inference.py and the model are loaded; rejects with the load error. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!existsSync(WORKER_SCRIPT)) {
        reject(new CapstanError('CAPSTAN_INTERNAL', 'the Python worker script is missing from this installation'));
        return;
      }
      const { dir, manifest } = this.spec;
      const child = spawn(this.interpreter, [WORKER_SCRIPT, dir, manifest.entry, this.interpreter], {
        cwd: dir,
        env: childEnv(this.spec.options.intraOpThreads),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      this.starting = child;
      let ready = false;
      let settledStart = false;
      const tail: string[] = [];
      const fail = (err: CapstanError) => {
        if (settledStart) return;
        settledStart = true;
        clearTimeout(loadTimer);
        if (tail.length > 0) this.options.logger.warn({ model: manifest.name, stderr: tail.join('\n') }, 'python model worker output while loading');
        if (this.starting === child) this.starting = undefined;
        child.kill('SIGKILL');
        reject(err);
      };
      const loadMs = Math.max(this.options.timeoutMs, 120_000);
      const loadTimer = setTimeout(() => fail(new CapstanError('CAPSTAN_SERVING_MODEL_LOAD_FAILED', `the Python model did not load within ${loadMs} ms`)), loadMs);
      loadTimer.unref();
      let partial = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (text: string) => {
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!ready) {
            tail.push(line);
            if (tail.length > 40) tail.shift();
          } else this.options.logger.info({ model: manifest.name, pid: child.pid }, `python: ${line}`);
        }
      });
      child.stdin!.on('error', () => {}); // EPIPE after the process died: its exit handler reports it
      const reader = new FrameReader();
      child.stdout!.on('data', (chunk: Buffer) => {
        let frames: Frame[];
        try {
          frames = reader.push(chunk);
        } catch (err) {
          this.options.logger.error({ err, model: manifest.name }, 'python model worker wrote a malformed frame; replacing it');
          if (!ready) fail(new CapstanError('CAPSTAN_SERVING_MODEL_LOAD_FAILED', 'the Python worker wrote something other than the protocol'));
          else this.replace(child, 'malformed frame');
          return;
        }
        for (const f of frames) {
          const t = f.header.t;
          if (t === 'ready' && !settledStart) {
            ready = settledStart = true;
            clearTimeout(loadTimer);
            this.starting = undefined;
            this.child = child;
            this.batcher ??= new Batcher<Job, void>(f.header.batched === true ? this.spec.options.batching : { maxBatchSize: 1, maxDelayMs: 0 }, (jobs) => this.run(jobs));
            for (const wake of this.readyWaiters.splice(0)) wake();
            resolve();
          } else if (t === 'failed') {
            const error = f.header.error as WireError;
            if (error.cause) this.options.logger.warn({ cause: error.cause, code: error.code, model: manifest.name }, 'python model failed to load');
            fail(fromWire(error));
          } else if (t === 'result') this.answer(f);
        }
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (!ready) {
          const detail = err.code === 'ENOENT' ? `the Python interpreter ${this.interpreter} was not found` : `the Python interpreter ${this.interpreter} could not be started (${err.code ?? 'error'})`;
          fail(new CapstanError('CAPSTAN_SERVING_MODEL_LOAD_FAILED', detail, { cause: err }));
        } else this.crashed(child, `process error: ${err.message}`);
      });
      child.on('exit', (code, signal) => {
        if (!ready) fail(new CapstanError('CAPSTAN_SERVING_MODEL_LOAD_FAILED', `the Python worker exited while loading (${signal ?? `code ${code}`})`));
        else this.crashed(child, `exited with ${signal ?? `code ${code}`}`);
      });
    });
  }

  /** Sends one batch of jobs to the process and waits for its answer (the batcher runs one at a time). */
  private async run(batch: Job[]): Promise<void[]> {
    const none = batch.map(() => undefined);
    while (!this.child) {
      if (this.closing) return none;
      await new Promise<void>((r) => this.readyWaiters.push(r));
    }
    // Requests answered 504 while they queued are not sent at all.
    const jobs = batch.filter((j) => !j.settled);
    if (jobs.length === 0) return none;
    const child = this.child;
    const id = this.nextId++;
    const items = jobs.map((j) => ({ ct: j.contentType, accept: j.accept, n: j.body.length, ...(j.customAttributes ? { ca: j.customAttributes } : {}) }));
    await new Promise<void>((done) => {
      this.inflight = { id, jobs, done };
      child.stdin!.write(encodeFrame({ t: 'invoke', id, items }, jobs.map((j) => j.body)));
    });
    return none;
  }

  private answer(f: Frame): void {
    const flight = this.inflight;
    if (!flight || flight.id !== f.header.id) return;
    this.inflight = undefined;
    this.consecutiveCrashes = 0;
    const items = f.header.items as ({ ok: true; ct: string; n: number } | { ok: false; error: WireError })[];
    const modelMs = typeof f.header.ms === 'number' ? f.header.ms / Math.max(1, items.length) : 0;
    let offset = 0;
    items.forEach((item, i) => {
      const job = flight.jobs[i];
      if (!job) return;
      if (item.ok) {
        // A view of the frame, not a copy: the bytes output_fn returned go to the client as they are.
        const body = f.payload.subarray(offset, offset + item.n);
        offset += item.n;
        this.settle(job, undefined, { body, contentType: item.ct, modelMs });
      } else {
        if (item.error.cause && item.error.code !== 'CAPSTAN_SERVING_INVALID_INPUT' && item.error.code !== 'CAPSTAN_SERVING_MALFORMED_JSON') {
          this.options.logger.warn({ cause: item.error.cause, code: item.error.code, model: this.spec.manifest.name }, 'python model error');
        }
        this.settle(job, fromWire(item.error));
      }
    });
    flight.done();
  }

  private settle(job: Job, err: CapstanError | undefined, result?: WorkerResult): void {
    if (job.settled) return;
    job.settled = true;
    this.jobs.take(job.key);
    if (err) job.reject(err);
    else job.resolve(result!);
  }

  /** Kills a process that broke the protocol or overran a deadline; it is restarted like a crash. */
  private replace(child: ChildProcess, reason: string): void {
    this.crashed(child, reason);
    child.kill('SIGKILL');
  }

  private crashed(child: ChildProcess, reason: string): void {
    if (this.child !== child || this.closing) return;
    this.child = undefined;
    const flight = this.inflight;
    this.inflight = undefined;
    if (flight) {
      for (const job of flight.jobs) this.settle(job, new CapstanError('CAPSTAN_SERVING_MODEL_CRASHED', 'the model worker stopped while handling the request; it is being restarted'));
      flight.done();
    }
    this.restarts++;
    this.consecutiveCrashes++;
    this.options.logger.error({ reason, model: this.spec.manifest.name }, 'python model worker stopped; restarting');
    this.options.onRestart?.(reason);
    this.respawn();
  }

  private respawn(): void {
    // Back off when a model crashes over and over, so a poison request cannot spin a core.
    const delay = Math.min(5000, 50 * 2 ** Math.min(this.consecutiveCrashes - 1, 7));
    // Not unref'd: requests waiting for the replacement must keep the process alive; close() clears it.
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = undefined;
      if (this.closing) return;
      this.start().catch((err) => {
        this.options.logger.error({ err }, 'python model worker restart failed; retrying');
        this.consecutiveCrashes++;
        this.respawn();
      });
    }, delay);
  }

  private sweep(): void {
    const now = Date.now();
    let overran = false;
    this.jobs.forEach((job) => {
      if (job.deadline > now) return;
      if (this.inflight?.jobs.includes(job)) overran = true;
      this.settle(job, new CapstanError('CAPSTAN_SERVING_MODEL_TIMEOUT', `the model did not answer within ${this.options.timeoutMs} ms`, { fields: { timeoutMs: this.options.timeoutMs } }));
    });
    // A single-threaded process past a deadline is stuck or too slow for everything queued behind it.
    if (overran && this.child) this.replace(this.child, 'a request overran the timeout');
  }

  /**
   * Sends one invocation; inference.py gets the body's exact bytes and the request's Accept (the
   * variant's `accept` option, else application/json, when the client sends none or `*\/*`).
   */
  invoke(body: InvocationBody, contentType: string, customAttributes?: string, accept?: string): Promise<WorkerResult> {
    if (this.closing || !this.batcher) return Promise.reject(new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY', 'the model is not running'));
    return new Promise<WorkerResult>((resolve, reject) => {
      const wait = this.child ? this.options.timeoutMs : Math.max(this.options.timeoutMs, RESTART_WAIT_MS);
      const job: Job = { body: bodyBytes(body), contentType, accept: accept && accept !== '*/*' ? accept : this.accept, customAttributes, deadline: Date.now() + wait, settled: false, key: 0, resolve, reject };
      job.key = this.jobs.add(job);
      this.batcher!.submit(job, 1).catch((err: unknown) => {
        this.options.logger.error({ err, model: this.spec.manifest.name }, 'python model worker failed to send a request');
        this.settle(job, new CapstanError('CAPSTAN_SERVING_MODEL_ERROR', 'the model worker could not take the request'));
      });
    });
  }

  /** Python models take invocations only. */
  infer(_inputs: Tensors): Promise<{ outputs: Tensors; modelMs: number }> {
    return Promise.reject(new CapstanError('CAPSTAN_SERVING_PROTOCOL_UNSUPPORTED', 'a python model takes invocations, not Open Inference Protocol tensors'));
  }

  /** Waits for in-flight requests (up to `graceMs`), then stops the process. */
  async drain(graceMs = this.options.timeoutMs): Promise<void> {
    const until = Date.now() + graceMs;
    while (this.jobs.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    await this.close();
  }

  /** Stops the process: its stdin closes and it exits; after 2 s it is killed. In-flight requests fail. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    clearTimeout(this.respawnTimer);
    for (const job of this.jobs.takeAll()) this.settle(job, new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY', 'the model was stopped'));
    this.inflight?.done();
    this.inflight = undefined;
    for (const wake of this.readyWaiters.splice(0)) wake();
    const procs = [this.child, this.starting].filter((c): c is ChildProcess => c !== undefined);
    this.child = this.starting = undefined;
    await Promise.all(procs.map((c) => stopProcess(c)));
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
  });
}
