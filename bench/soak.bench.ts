// Soak: one `capstan server` process serving an NCF endpoint at 80 % of the maximum invocation rate
// measured first, with a model swap (endpoints deploy, alternating versions 1 and 2) every minute.
// Prints progress on stderr and, as its LAST line, one JSON object with exactly the keys
// errors, rss_start_mb, rss_end_mb, p99_ms_first_minute, p99_ms_last_minute.
//   npm run bench:soak -- [--minutes 10] [--connections 8]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform } from '../src/platform/platform.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { log } from './support/log.js';
import { printResult } from './support/print-result.js';
import { startCapstanServer, type StartedProcess } from './support/start-process.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'src', 'cli', 'entry.ts');
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const MINUTES = arg('minutes', 10);
const CONNECTIONS = arg('connections', 8);
const PROBE_S = arg('probe-seconds', 15);

function capstan(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`capstan ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const p99 = (xs: number[]) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)] * 10) / 10;
};

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-soak-'));
  const env = { CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'error' };
  let server: StartedProcess | undefined;
  try {
    const platform = await openPlatform({ config: compileConfig({ flags: { home }, env: {}, cwd: home }), logger: silentLogger() });
    for (const seed of [1, 2]) await registerApproved(platform.registry, 'ncf', { packageDir: writeNcfPackage(path.join(home, `pkg-${seed}`), { users: 200, items: 500, factor: 16, seed }).dir });
    await platform.close();
    server = await startCapstanServer(env);
    await capstan(['endpoints', 'create', 'ncf', '--model', 'models:/ncf/1', '--url', server.url, '--json'], env);
    const url = `${server.url}/endpoints/ncf/invocations`;
    const body = JSON.stringify({ user: [1000, 1000, 1000], item: [5001, 5002, 5003] });
    const invoke = async (): Promise<number> => {
      const t = performance.now();
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return performance.now() - t;
    };
    // Maximum rate: closed loop with CONNECTIONS concurrent clients.
    let done = 0;
    const probeEnd = Date.now() + PROBE_S * 1000;
    await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < probeEnd) {
        await invoke().catch(() => undefined);
        done++;
      }
    }));
    const max = done / PROBE_S;
    const rate = max * 0.8;
    log(`max ${max.toFixed(0)} req/s; soaking ${MINUTES} min at ${rate.toFixed(0)} req/s with a model swap every minute`);
    const rssStart = rssMb(server.child.pid!);
    const perMinute: number[][] = Array.from({ length: MINUTES }, () => []);
    let errors = 0;
    const start = Date.now();
    const inflight = new Set<Promise<void>>();
    let swaps = 0;
    let swapping: Promise<unknown> = Promise.resolve();
    const swapper = setInterval(() => {
      // A swap due at the very end would land after the measurement.
      if (Date.now() > start + MINUTES * 60_000 - 5000) return;
      swaps++;
      swapping = capstan(['endpoints', 'deploy', 'ncf', '--model', `models:/ncf/${(swaps % 2) + 1}`, '--url', server!.url, '--json'], env).then(
        () => log(`swap ${swaps} → version ${(swaps % 2) + 1}`),
        (err: Error) => {
          errors++;
          log(`swap ${swaps} failed: ${err.message}`);
        },
      );
    }, 60_000);
    // Open loop: requests are sent on schedule whatever the latency, so slowdowns show in p99.
    for (let i = 0; ; i++) {
      const due = start + (i * 1000) / rate;
      if (due >= start + MINUTES * 60_000) break;
      const wait = due - Date.now();
      // Behind schedule, the loop still yields so responses are read (and latency, not the client, shows the backlog).
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      else await new Promise((r) => setImmediate(r));
      const minute = Math.min(MINUTES - 1, Math.floor((Date.now() - start) / 60_000));
      const p: Promise<void> = invoke().then(
        (ms) => void perMinute[minute].push(ms),
        () => void errors++,
      ).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    clearInterval(swapper);
    await Promise.all(inflight);
    await swapping;
    const rssEnd = rssMb(server.child.pid!);
    log(`requests per minute: ${perMinute.map((m) => m.length).join(' ')}; swaps ${swaps}`);
    printResult({ errors, rss_start_mb: Math.round(rssStart), rss_end_mb: Math.round(rssEnd), p99_ms_first_minute: p99(perMinute[0]), p99_ms_last_minute: p99(perMinute[MINUTES - 1]) });
  } finally {
    server?.child.kill('SIGTERM');
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
