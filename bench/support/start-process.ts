import { spawn, type ChildProcess } from 'node:child_process';
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

/** Starts the CLI from source with `args` (e.g. `server --port 0 --json`); see startProcess. */
export function startCapstan(args: string[], env: Record<string, string> = {}): Promise<StartedProcess> {
  return startScript('src/cli/entry.ts', args, env);
}

/** Starts `capstan server` on a free port; env usually holds CAPSTAN_HOME and CAPSTAN_LOG_LEVEL. */
export function startCapstanServer(env: Record<string, string>): Promise<StartedProcess> {
  return startCapstan(['server', '--port', '0', '--json'], env);
}
