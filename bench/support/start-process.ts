import { spawn, type ChildProcess } from 'node:child_process';
import { capstanArgv } from '../../test/support/capstan-cli.js';
import { log } from './log.js';
import { REPO_ROOT } from './repo-root.js';

/** A server process that has printed its URL. */
export interface StartedProcess {
  child: ChildProcess;
  url: string;
}

/**
 * Starts `cmd args` in the repository root (env added to this process's) and resolves with the
 * `"url"` it prints as JSON on stdout; `capstan server --json` prints indented JSON, the helper
 * servers one line, so the URL is matched rather than parsed.
 */
export function startProcess(cmd: string, args: string[], env: Record<string, string> = {}): Promise<StartedProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = out.match(/"url":\s*"([^"]+)"/);
      if (match) resolve({ child, url: match[1] });
    });
    child.on('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited with code ${code} before printing its URL`)));
  });
}

/** Starts a TypeScript script of this repository (e.g. `bench/baseline-server.ts`) under tsx; see startProcess. */
export function startScript(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<StartedProcess> {
  return startProcess(process.execPath, ['--import', 'tsx', script, ...args], env);
}

let warned = false;

/**
 * How a benchmark runs `capstan`: the compiled CLI users run (`bin/capstan.js` → dist/) while the
 * build is newer than every source file, else the sources through tsx, with a warning: tsx compiles
 * with esbuild's keepNames, a defineProperty on every closure created per request, which showed in
 * the profiles of the decision and SigV4 paths.
 */
export function capstanCommand(): string[] {
  const argv = capstanArgv();
  if (argv[0] === '--import' && !warned) {
    warned = true;
    log('warning: the build is older than src/ (run npm run build); measuring the sources through tsx, which is slower than what users run');
  }
  return argv;
}

/** Starts the CLI with `args` (e.g. `server --port 0 --json`); see startProcess and capstanCommand. */
export function startCapstan(args: string[], env: Record<string, string> = {}): Promise<StartedProcess> {
  return startProcess(process.execPath, [...capstanCommand(), ...args], env);
}

/** Starts `capstan server` on a free port; env usually holds CAPSTAN_HOME and CAPSTAN_LOG_LEVEL. */
export function startCapstanServer(env: Record<string, string>): Promise<StartedProcess> {
  return startCapstan(['server', '--port', '0', '--json'], env);
}
