import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sourceEntry = path.join(root, 'src/cli/entry.ts');
const builtEntry = path.join(root, 'dist/cli/entry.js');
const tsx = import.meta.resolve('tsx');

/** The newest modification time of the files `npm run build` compiles or copies from src/. */
function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(file));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(file).mtimeMs);
  }
  return newest;
}

let argvPrefix: string[] | undefined;

/**
 * How to start `capstan`: the compiled `dist/cli/entry.js` (what `bin/capstan.js` runs) when the build
 * is newer than every source file, else the sources through tsx. Loading the sources through tsx's
 * hooks costs a few CPU seconds per process, and the suite starts hundreds of them; a stale build is
 * never used, so an edit without `npm run build` is still what the tests run.
 * `CAPSTAN_TEST_CLI=source` forces the sources.
 */
export function capstanArgv(): string[] {
  if (!argvPrefix) {
    const built = statSync(builtEntry, { throwIfNoEntry: false });
    const fresh = built !== undefined && process.env.CAPSTAN_TEST_CLI !== 'source' && built.mtimeMs > newestSourceMtime(path.join(root, 'src'));
    argvPrefix = fresh ? [builtEntry] : ['--import', tsx, sourceEntry];
  }
  return argvPrefix;
}

/**
 * `capstanArgv()` as one shell command line, for scripts and docs run through a shell. Words are
 * quoted only when they need it, so the line also works where a script expands `$CAPSTAN` unquoted.
 */
export function capstanShellCommand(): string {
  return [process.execPath, ...capstanArgv()].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** What one `capstan` process did. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** How to run it; every field is optional. */
export interface CliRunOptions {
  /** Working directory; default this process's. */
  cwd?: string;
  /** Variables on top of the caller's environment, from which every CAPSTAN_* variable is removed first. */
  env?: Record<string, string>;
  /** Sees stdout as it arrives, with a way to signal the process (for long-running commands). */
  onStdout?: (text: string, kill: (signal: NodeJS.Signals) => void) => void;
  /** The process is killed after this long; default 10 minutes. */
  timeoutMs?: number;
}

/** The environment without the caller's CAPSTAN_* settings, so a test sees only what it sets. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CAPSTAN_') && v !== undefined) env[k] = v;
  return { ...env, ...extra };
}

/** Runs `capstan <args>` (the build or the sources, see `capstanArgv`) as a user would in a terminal, and collects its output. */
export function runCapstan(args: string[], options: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...capstanArgv(), ...args], { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const deadline = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    child.stdout.on('data', (c) => {
      stdout += c;
      options.onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The JSON a successful `--json` run printed; fails the test with its stderr otherwise. */
export function cliJson(run: CliRun): any {
  assert.equal(run.code, 0, `exit ${run.code}: ${run.stderr}${run.stdout}`);
  return JSON.parse(run.stdout);
}

/** The problem document a failed `--json` run printed (exit code 1). */
export function cliProblem(run: CliRun): { code: string; detail: string; status: number } {
  assert.equal(run.code, 1, `expected a failure, got exit ${run.code}: ${run.stdout}`);
  return JSON.parse(run.stdout);
}

/** A long-running `capstan` process (`up`, `worker`) and what it printed so far. */
export class CapstanProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], options: Pick<CliRunOptions, 'cwd' | 'env'> = {}) {
    this.child = spawn(process.execPath, [...capstanArgv(), ...args], { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (c) => (this.stdout += c));
    this.child.stderr!.on('data', (c) => (this.stderr += c));
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  /** The complete JSON documents printed on stdout so far (`--json` output), in order. */
  documents(): any[] {
    const out: any[] = [];
    for (const part of this.stdout.split(/^(?=\{)/m)) {
      if (!part.trimEnd().endsWith('}')) continue;
      try {
        out.push(JSON.parse(part));
      } catch {
        // still being written
      }
    }
    return out;
  }

  /** Waits until `probe(this)` returns a value; fails with the output when the process exits first or the deadline passes. */
  async until<T>(what: string, probe: (p: CapstanProcess) => T | undefined | Promise<T | undefined>, deadlineMs = 300_000): Promise<T> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      const v = await probe(this);
      if (v !== undefined) return v;
      if (this.child.exitCode !== null || this.child.signalCode !== null) assert.fail(`capstan exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}:\n${this.stderr}${this.stdout}`);
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}:\n${this.stderr}${this.stdout}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends a signal unless the process already ended. */
  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** Sends `signal` (unless the process already ended) and waits until it has exited. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    this.kill(signal);
    await this.exited;
  }
}
