import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './repo-root.js';

/** What one load run measured (from autocannon's JSON). */
export interface LoadResult {
  reqPerSec: number;
  p50: number;
  p99: number;
  /** connection errors plus timeouts */
  errors: number;
  non2xx: number;
  ok: number;
  total: number;
}

/** One autocannon run. Either seconds or amount. */
export interface LoadOptions {
  connections: number;
  /** Run for this long (-d). */
  seconds?: number;
  /** Send exactly this many requests instead (-a), so every request sent is answered and counted. */
  amount?: number;
  /** Fixed overall offered rate (-R); unthrottled when absent. */
  rate?: number;
  /** POSTed as the body of every request; a GET without a body when absent. */
  body?: string;
  /** Request headers; default content-type application/json when there is a body. */
  headers?: Record<string, string>;
}

let bodyFiles = 0;

/** Summarises autocannon's JSON result (the last line of `out`); throws if there is none. */
export function parseLoadResult(out: string, code: number | null): LoadResult {
  try {
    const r = JSON.parse(out.trim().split('\n').pop()!);
    return { reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, ok: r['2xx'], total: r.requests.total };
  } catch {
    throw new Error(`the load generator exited with code ${code} and no JSON result`);
  }
}

/** Runs autocannon in its own process (so the load generator does not share the bench's event loop) and summarises it. */
export function autocannon(url: string, options: LoadOptions): Promise<LoadResult> {
  const args = [path.join(REPO_ROOT, 'node_modules', 'autocannon', 'autocannon.js'), '-c', String(options.connections), '-j'];
  if (options.amount !== undefined) args.push('-a', String(options.amount));
  else args.push('-d', String(options.seconds ?? 10));
  if (options.rate !== undefined) args.push('-R', String(options.rate));
  const headers = options.headers ?? (options.body === undefined ? {} : { 'content-type': 'application/json' });
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`);
  const bodyFile = options.body === undefined ? undefined : path.join(os.tmpdir(), `capstan-bench-body-${process.pid}-${bodyFiles++}.json`);
  if (bodyFile !== undefined) {
    writeFileSync(bodyFile, options.body!);
    args.push('-m', 'POST', '-i', bodyFile);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      if (bodyFile !== undefined) rmSync(bodyFile, { force: true });
      try {
        resolve(parseLoadResult(out, code));
      } catch (err) {
        reject(err);
      }
    });
  });
}
