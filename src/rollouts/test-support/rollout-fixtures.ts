import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A js model package that adds a, b and `offset`, failing `failPercent` % of its requests with a model
 * error (HTTP 500); with handler option `holdable`, a request with `waitFor` (a file path) is held until that file exists;
 * with handler option `failureLog` (a file path), the wall-clock time of its first failure is appended there.
 */
export function writeAdderPackage(dir: string, failPercent = 0, offset = 0): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'model.mjs'),
    `import { appendFileSync, existsSync } from 'node:fs';
let failed = false;
export function load(dir, options) { return options; }
export async function predict(model, input) {
  if (input.waitFor && model.holdable) while (!existsSync(input.waitFor)) await new Promise((r) => setTimeout(r, 20));
  if (Math.random() * 100 < ${failPercent}) {
    if (model.failureLog && !failed) appendFileSync(model.failureLog, Date.now() + '\\n');
    failed = true;
    throw new Error('this version is broken');
  }
  return (input.a ?? 0) + (input.b ?? 0) + ${offset};
}
export function postprocess(output) { return { sum: output, score: output / 10 }; }
`,
  );
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name: 'adder', framework: 'js', entry: 'model.mjs' }));
  return dir;
}

/** What one autocannon run saw. */
export interface LoadResult {
  total: number;
  /** Answers other than 2xx plus connection errors and timeouts: the failures users saw. */
  failed: number;
  reqPerSec: number;
  p99: number;
  durationS: number;
}

/** Runs autocannon against `url` in its own process (so the server's event loop is not the load generator's) for `seconds`; `rate` caps the requests per second (default: as fast as it answers). */
export function autocannon(url: string, body: string, seconds: number, connections = 8, headers: Record<string, string> = {}, rate?: number): Promise<LoadResult> {
  const bodyFile = path.join(os.tmpdir(), `capstan-rollout-body-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(bodyFile, body);
  const bin = path.join(process.cwd(), 'node_modules', 'autocannon', 'autocannon.js');
  const headerArgs = Object.entries({ 'content-type': 'application/json', ...headers }).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
  return new Promise((resolve, reject) => {
    const rateArgs = rate ? ['-R', String(rate)] : [];
    const child = spawn(process.execPath, [bin, '-c', String(connections), '-d', String(seconds), ...rateArgs, '-m', 'POST', ...headerArgs, '-i', bodyFile, '-j', url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      try {
        const r = JSON.parse(out);
        resolve({ total: r.requests.total, failed: r.non2xx + r.errors + r.timeouts, reqPerSec: r.requests.average, p99: r.latency.p99, durationS: r.duration });
      } catch {
        reject(new Error(`autocannon exited with code ${code} and no JSON result`));
      }
    });
  });
}
