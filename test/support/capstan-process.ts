import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from './capstan-cli.js';

const entry = fileURLToPath(new URL('../../src/cli/entry.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');

/** A `capstan` process a test drives: it can kill it at any point and wait for it to end. */
export interface CapstanProcess {
  child: ChildProcess;
  /** Resolves when the process has ended (and been reaped). */
  exited: Promise<void>;
  /** Sends `signal` and waits for the process to end. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

/** Starts `capstan <args>` from source with only the given CAPSTAN_* variables; stderr goes to the test's. */
export function startCapstan(args: string[], env: Record<string, string>, cwd?: string): CapstanProcess {
  const child = spawn(process.execPath, ['--import', tsx, entry, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    exited,
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Polls `probe` every 100 ms until it returns a value; fails after `tries` polls. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, tries = 3000): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Starts `capstan up --port 0 --json` and resolves once it printed where it listens. */
export async function startUp(env: Record<string, string>, cwd?: string): Promise<CapstanProcess> {
  const p = startCapstan(['up', '--port', '0', '--json'], env, cwd);
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    p.child.stdout!.on('data', (c) => {
      stdout += c;
      if (stdout.includes('}')) resolve();
    });
    p.child.once('exit', (code) => reject(new Error(`capstan up exited ${code}`)));
  });
  return p;
}
