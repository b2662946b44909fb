import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CapstanError } from '../../core/errors.js';
import type { ArtifactStore } from '../../storage/artifacts/artifact-store.js';
import { digestOf, downloadInput } from '../artifact-digest.js';
import type { StepOutput } from '../execution.js';
import { builtinCommand } from './builtin-command.js';
import { signalGroup } from './process-group.js';
import { Semaphore } from './semaphore.js';
import { NO_RETRY_EXIT_CODE, type StepExecutor, type StepRunContext, type StepRunResult, type StepTask } from './step-executor.js';
import { DEFAULT_PASS_ENV, passedEnvironment } from '../steps/step-environment.js';

/** Options of the local executor; every field has a default. */
export interface LocalExecutorOptions {
  /** Attempts running at once; default the number of CPUs. */
  concurrency?: number;
  /** Parent directory of per-step working directories; default the OS temp dir. */
  workRoot?: string;
  /** Host variables passed to every step besides the declared ones; default PATH, HOME, LANG, LC_ALL, TZ, TMPDIR. */
  passEnv?: readonly string[];
  /** Grace period between SIGTERM and SIGKILL on timeout or cancel, in ms; default 5000. */
  killGraceMs?: number;
  /** Keep working directories after the step (debugging); default false. */
  keepWorkDirs?: boolean;
}

/** Lines of stderr (each cut at 300 characters) a non-zero exit's reason quotes. */
const TAIL_LINES = 5;
const TAIL_LINE = 300;

/**
 * Runs command steps as local subprocesses: a fresh working directory per attempt (code snapshot,
 * inputs, outputs, model dir, hyperparameters file), an environment holding only declared and a
 * few basic host variables, a concurrency limit, timeouts and cancellation that stop the whole
 * process group, and outputs uploaded to the artifact store after a zero exit.
 */
export class LocalExecutor implements StepExecutor {
  readonly name = 'local';
  private readonly slots: Semaphore;
  private readonly o: Required<LocalExecutorOptions>;
  private swept: Promise<void> | undefined;

  constructor(private readonly artifacts: ArtifactStore, options: LocalExecutorOptions = {}) {
    this.o = {
      concurrency: options.concurrency ?? Math.max(1, os.availableParallelism()),
      workRoot: options.workRoot ?? os.tmpdir(),
      passEnv: options.passEnv ?? DEFAULT_PASS_ENV,
      killGraceMs: options.killGraceMs ?? 5000,
      keepWorkDirs: options.keepWorkDirs ?? false,
    };
    this.slots = new Semaphore(this.o.concurrency);
  }

  /** Runs one attempt; resolves with uploaded outputs or rejects with a CapstanError. */
  async run(task: StepTask, ctx: StepRunContext): Promise<StepRunResult> {
    const release = await this.slots.acquire(ctx.signal);
    await mkdir(this.o.workRoot, { recursive: true });
    await (this.swept ??= sweepWorkDirs(this.o.workRoot));
    // The creating process's pid in the name lets a later process tell a dead process's leftovers from a live one's.
    const work = await mkdtemp(path.join(this.o.workRoot, `capstan-step-${process.pid}-${task.step}-`));
    try {
      return await this.runIn(work, task, ctx);
    } finally {
      release();
      if (!this.o.keepWorkDirs) await rm(work, { recursive: true, force: true }).catch(() => {});
    }
  }

  private async runIn(work: string, task: StepTask, ctx: StepRunContext): Promise<StepRunResult> {
    const dirs = { code: path.join(work, 'code'), input: path.join(work, 'input'), output: path.join(work, 'output'), model: path.join(work, 'model') };
    for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
    if (task.codePrefix) await this.artifacts.downloadDirectory(task.codePrefix, dirs.code);
    for (const [channel, key] of Object.entries(task.inputs)) await downloadInput(this.artifacts, channel, key, path.join(dirs.input, channel));
    for (const o of task.outputs) await mkdir(path.join(dirs.output, o), { recursive: true });
    const hpFile = path.join(work, 'hyperparameters.json');
    await writeFile(hpFile, JSON.stringify(task.hyperparameters, null, 2));

    const hpArgs = Object.entries(task.hyperparameters).flatMap(([k, v]) => [`--${k}`, String(v)]);
    const argv = task.builtin ? [...builtinCommand(task.builtin), ...hpArgs] : [...(task.command ?? []), ...hpArgs];
    const env = passedEnvironment(this.o.passEnv);
    Object.assign(env, task.env, {
      CAPSTAN_INPUT_DIR: dirs.input,
      CAPSTAN_OUTPUT_DIR: dirs.output,
      CAPSTAN_MODEL_DIR: dirs.model,
      CAPSTAN_HYPERPARAMETERS: hpFile,
      CAPSTAN_EXECUTION_ID: task.executionId,
      CAPSTAN_PIPELINE: task.pipeline,
      CAPSTAN_STEP: task.step,
      CAPSTAN_ATTEMPT: String(task.attempt),
      CAPSTAN_NO_RETRY_EXIT_CODE: String(NO_RETRY_EXIT_CODE),
      PYTHONUNBUFFERED: task.env.PYTHONUNBUFFERED ?? '1',
    });
    const exitCode = await this.spawnStep(argv, dirs.code, env, task, ctx);

    const outputs: Record<string, StepOutput> = {};
    const named: [string, string][] = task.outputs.map((o) => [o, path.join(dirs.output, o)]);
    if (task.modelOutput) named.push(['model', dirs.model]);
    const properties: Record<string, unknown> = {};
    for (const f of task.propertyFiles) {
      const dir = named.find(([n]) => n === f.output)?.[1];
      properties[f.name] = await readPropertyFile(dir ? path.join(dir, f.path) : '', f.name, f.path);
    }
    for (const [name, dir] of named) {
      if ((await readdir(dir)).length === 0) {
        throw new CapstanError('CAPSTAN_PIPELINE_OUTPUT_MISSING', `step "${task.step}" wrote nothing to its declared output "${name}"`, { retryable: false, fields: { step: task.step, output: name } });
      }
      const prefix = `${task.outputPrefix}${name}/`;
      const infos = await this.artifacts.uploadDirectory(dir, prefix);
      outputs[name] = { uri: this.artifacts.uriFor(prefix.slice(0, -1)), digest: digestOf(infos, prefix) };
    }
    return { outputs, properties, exitCode };
  }

  private spawnStep(argv: string[], cwd: string, env: Record<string, string>, task: StepTask, ctx: StepRunContext): Promise<number> {
    return new Promise((resolve, reject) => {
      if (ctx.signal.aborted) return reject(cancelled(task));
      ctx.log('system', `$ ${argv.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
      const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
      // Detached: the child leads its own process group, whose id is its pid.
      if (child.pid && process.platform !== 'win32') ctx.onSpawn?.(child.pid);
      let stopReason: 'timeout' | 'cancel' | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = (why: 'timeout' | 'cancel') => {
        if (stopReason) return;
        stopReason = why;
        signalGroup(child.pid, 'SIGTERM');
        killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), this.o.killGraceMs);
        killTimer.unref();
      };
      const timer = task.timeoutMs ? setTimeout(() => stop('timeout'), task.timeoutMs) : undefined;
      const onAbort = () => stop('cancel');
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const out = lineSplitter((l) => ctx.log('stdout', l));
      const tail: string[] = [];
      const err = lineSplitter((l) => {
        ctx.log('stderr', l);
        if (!l.trim()) return;
        tail.push(l.length > TAIL_LINE ? `${l.slice(0, TAIL_LINE)}…` : l);
        if (tail.length > TAIL_LINES) tail.shift();
      });
      child.stdout.on('data', out.push);
      child.stderr.on('data', err.push);
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        ctx.signal.removeEventListener('abort', onAbort);
      };
      child.on('error', (e: NodeJS.ErrnoException) => {
        cleanup();
        if (e.code === 'ENOENT' || e.code === 'EACCES') {
          reject(new CapstanError('CAPSTAN_PIPELINE_COMMAND_NOT_FOUND', `step "${task.step}": command ${JSON.stringify(argv[0])} ${e.code === 'ENOENT' ? 'does not exist' : 'is not executable'}`, { cause: e, retryable: false, fields: { step: task.step } }));
        } else reject(new CapstanError('CAPSTAN_PIPELINE_STEP_EXIT', `step "${task.step}": cannot start ${JSON.stringify(argv[0])}: ${e.code ?? 'error'}`, { cause: e, fields: { step: task.step } }));
      });
      child.on('close', (code, sig) => {
        cleanup();
        out.end();
        err.end();
        if (stopReason === 'cancel') return reject(cancelled(task));
        if (stopReason === 'timeout') {
          return reject(new CapstanError('CAPSTAN_PIPELINE_STEP_TIMEOUT', `step "${task.step}" ran longer than ${task.timeoutMs} ms and was stopped`, { fields: { step: task.step } }));
        }
        if (code === 0) return resolve(0);
        const retryable = code !== NO_RETRY_EXIT_CODE;
        const how = code === null ? `was killed by ${sig}` : `exited with code ${code}${retryable ? '' : ' (do not retry)'}`;
        // The reason should say why, not only that: the end of stderr usually holds the error.
        const last = tail.length ? `; last lines of its stderr:\n${tail.map((l) => `  ${l}`).join('\n')}\n` : '; ';
        const more = `the whole log: capstan logs ${task.executionId} --step ${task.step}`;
        reject(new CapstanError('CAPSTAN_PIPELINE_STEP_EXIT', `step "${task.step}" ${how}${last}(${more})`, { retryable, fields: { step: task.step, exitCode: code, stderrTail: tail } }));
      });
    });
  }
}

function cancelled(task: StepTask): CapstanError {
  return new CapstanError('CAPSTAN_PIPELINE_STEP_CANCELLED', `step "${task.step}" was cancelled`, { retryable: false, fields: { step: task.step } });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return true;
}

/**
 * Removes working directories that a killed process (kill -9, a crash) left behind; a directory of a
 * process still alive — another scheduler sharing the directory — is left alone.
 */
async function sweepWorkDirs(root: string): Promise<void> {
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const m = /^capstan-step-(\d+)-/.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    await rm(path.join(root, name), { recursive: true, force: true }).catch(() => {});
  }
}

function lineSplitter(emit: (line: string) => void): { push: (chunk: Buffer) => void; end: () => void } {
  let rest = '';
  return {
    push: (chunk) => {
      const parts = (rest + chunk.toString('utf8')).split(/\r?\n/);
      rest = parts.pop() ?? '';
      for (const p of parts) emit(p);
    },
    end: () => {
      if (rest) emit(rest);
      rest = '';
    },
  };
}

async function readPropertyFile(file: string, name: string, rel: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CapstanError('CAPSTAN_PIPELINE_PROPERTY_FILE_INVALID', `property file "${name}" (${rel}) was not written`, { retryable: false, fields: { propertyFile: name } });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CapstanError('CAPSTAN_PIPELINE_PROPERTY_FILE_INVALID', `property file "${name}" (${rel}) is not valid JSON`, { retryable: false, fields: { propertyFile: name } });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new CapstanError('CAPSTAN_PIPELINE_PROPERTY_FILE_INVALID', `property file "${name}" (${rel}) must hold a JSON object`, { retryable: false, fields: { propertyFile: name } });
  }
  return v;
}
