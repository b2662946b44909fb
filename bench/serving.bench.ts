// npm run bench:serving — real-time serving throughput of an NCF model (factor 32, 3 layers).
//
// 1. Exports a NeuMF package with random weights through the NCF exporter (MovieLens-1M sizes) and
//    registers it; creates endpoint `ncf` on a throwaway home (SQLite, file artifacts).
// 2. Starts `capstan server` in its own process and drives it with autocannon from another process
//    on loopback: 10 s warm-up, 30 s measured, 50 connections — 100-candidate ranking requests, then
//    the source team's 25-item request.
// 3. Measures a bare node:http + onnxruntime-node server (bench/baseline-server.ts) the same way.
// The last line is JSON: {"req_per_s","p50_ms","p99_ms","errors","baseline_req_per_s","ratio","req_per_s_25",
// "p99_ms_at_4000","baseline_p99_ms_at_4000"}; the last two are the p99 at a fixed offered rate of 4,000/s
// (autocannon overallRate, 20 connections) for Capstan and the bare server.
// Env: BENCH_WARMUP_S (10), BENCH_DURATION_S (30), BENCH_CONNECTIONS (50), BENCH_MAX_BATCH (1024), BENCH_INSTANCES (1).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { IdMap } from '../src/algorithms/ncf/id-map.js';
import { defaultNcfHyperparameters } from '../src/algorithms/ncf/hyperparameters.js';
import { writeNcfModelPackage } from '../src/algorithms/ncf/model-package.js';
import { initNeuMF } from '../src/algorithms/ncf/neumf-model.js';
import { Random } from '../src/algorithms/ncf/random.js';
import { UserItems } from '../src/algorithms/ncf/user-items.js';
import { openPlatform } from '../src/platform/platform.js';
import { createRegistry } from '../src/registry/index.js';
import type { RegistryService } from '../src/registry/registry-service.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 10);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 30);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const FIXED_RATE = 4000;
const FIXED_CONNECTIONS = 20;
const MAX_BATCH = Number(process.env.BENCH_MAX_BATCH ?? 1024);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1);
const USERS = 6040;
const ITEMS = 3706;

interface LoadResult {
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Writes the package with the NCF exporter: random weights, id maps, per-user items, popularity. */
async function writePackage(dir: string): Promise<void> {
  const rng = new Random(42);
  const params = initNeuMF({ numUsers: USERS, numItems: ITEMS, factorNum: 32, numLayers: 3 }, rng);
  const user = new Int32Array(USERS * 20);
  const item = new Int32Array(USERS * 20);
  for (let r = 0; r < user.length; r++) {
    user[r] = Math.floor(r / 20);
    item[r] = rng.nextU32() % ITEMS;
  }
  const popularity = new Int32Array(ITEMS);
  for (const i of item) popularity[i]++;
  await writeNcfModelPackage(dir, {
    params,
    userIds: new IdMap(Array.from({ length: USERS }, (_, d) => d + 1)),
    itemIds: new IdMap(Array.from({ length: ITEMS }, (_, d) => d + 1)),
    userItems: new UserItems(USERS, user, item),
    popularity,
    hyperparameters: { ...defaultNcfHyperparameters, factor_num: 32, num_layers: 3 },
    metrics: {},
  });
}

/** Starts a child process and resolves with the `url` it prints as JSON. */
function startProcess(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      // `capstan server --json` prints indented JSON; the baseline prints one line.
      const match = out.match(/"url":\s*"([^"]+)"/);
      if (match) resolve({ child, url: match[1] });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with code ${code} before printing its URL`)));
  });
}

/** Runs autocannon in its own process and parses its JSON result. */
function autocannon(url: string, body: string, seconds: number, load: { connections: number; rate?: number } = { connections: CONNECTIONS }): Promise<LoadResult> {
  const bodyFile = path.join(os.tmpdir(), `capstan-bench-body-${process.pid}.json`);
  writeFileSync(bodyFile, body);
  const bin = path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
  return new Promise((resolve, reject) => {
    const rate = load.rate === undefined ? [] : ['-R', String(load.rate)];
    const child = spawn(process.execPath, [bin, '-c', String(load.connections), ...rate, '-d', String(seconds), '-m', 'POST', '-H', 'content-type=application/json', '-i', bodyFile, '-j', url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      try {
        const r = JSON.parse(out);
        resolve({ reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, total: r.requests.total });
      } catch {
        reject(new Error(`autocannon exited with code ${code} and no JSON result`));
      }
    });
  });
}

async function measure(name: string, url: string, body: string): Promise<LoadResult> {
  log(`${name}: warm-up ${WARMUP_S} s …`);
  await autocannon(url, body, WARMUP_S);
  log(`${name}: measuring ${DURATION_S} s with ${CONNECTIONS} connections …`);
  const r = await autocannon(url, body, DURATION_S);
  log(`${name}: ${r.reqPerSec.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, errors ${r.errors}, non-2xx ${r.non2xx}, total ${r.total}`);
  return r;
}

/** The tail at a fixed offered rate (autocannon `overallRate`), after the server is warm. */
async function measureAtRate(name: string, url: string, body: string): Promise<LoadResult> {
  log(`${name}: ${FIXED_RATE}/s with ${FIXED_CONNECTIONS} connections for ${DURATION_S} s …`);
  const r = await autocannon(url, body, DURATION_S, { connections: FIXED_CONNECTIONS, rate: FIXED_RATE });
  log(`${name} at ${FIXED_RATE}/s: ${r.reqPerSec.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, errors ${r.errors}, non-2xx ${r.non2xx}`);
  return r;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-bench-'));
  const children: ChildProcess[] = [];
  try {
    const pkg = path.join(home, 'ncf-package');
    log('exporting the NCF package (factor 32, 3 layers, 6040 users, 3706 items) …');
    await writePackage(pkg);

    const config = compileConfig({ flags: { home }, env: {}, cwd: home });
    const platform = await openPlatform({ config, logger: silentLogger() });
    try {
      let registry = (platform as { registry?: RegistryService }).registry;
      if (!registry) {
        const ctx = createRegistry(platform);
        registry = ctx.service;
        Object.assign(platform, { registry });
        platform.onClose(() => ctx.close());
      }
      log('registering the package and creating endpoint ncf …');
      const v = await registry.registerVersion('ncf', { packageDir: pkg });
      await registry.setApproval('ncf', v.version, { status: 'Approved', comment: 'benchmark' });
      const ep = await platform.serving.create('ncf', { variants: [{ model: `models:/ncf/${v.version}`, instances: INSTANCES, batching: { maxBatchSize: MAX_BATCH, maxDelayMs: 0 } }] });
      if (ep.status !== 'InService') throw new Error(`endpoint failed: ${ep.statusReason}`);
    } finally {
      await platform.close();
    }

    const rng = new Random(7);
    const candidates = Array.from({ length: 100 }, () => 1 + (rng.nextU32() % ITEMS));
    const body100 = JSON.stringify({ user: 17, items: candidates });
    const body25 = JSON.stringify({ user: Array(25).fill(17), item: candidates.slice(0, 25) });

    log('starting capstan server …');
    const capstan = await startProcess(['--import', 'tsx', 'src/cli/entry.ts', 'server', '--port', '0', '--json'], { CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'warn' });
    children.push(capstan.child);
    const invocations = `${capstan.url}/endpoints/ncf/invocations`;
    const check = await fetch(invocations, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body100 });
    if (!check.ok) throw new Error(`capstan answered ${check.status}: ${await check.text()}`);
    const ranked = await measure('capstan, 100 candidates', invocations, body100);
    const ranked25 = await measure('capstan, 25-item pair request', invocations, body25);
    const fixed = await measureAtRate('capstan, 100 candidates', invocations, body100);
    await stop(capstan.child);

    const baseline = await startProcess(['--import', 'tsx', 'bench/baseline-server.ts', pkg], {});
    children.push(baseline.child);
    const bare = await measure('baseline node:http + onnxruntime-node, 100 candidates', baseline.url, body100);
    const bareFixed = await measureAtRate('baseline, 100 candidates', baseline.url, body100);
    await stop(baseline.child);

    const result = {
      req_per_s: Math.round(ranked.reqPerSec),
      p50_ms: ranked.p50,
      p99_ms: ranked.p99,
      errors: ranked.errors + ranked.non2xx,
      baseline_req_per_s: Math.round(bare.reqPerSec),
      ratio: Math.round((ranked.reqPerSec / bare.reqPerSec) * 100) / 100,
      req_per_s_25: Math.round(ranked25.reqPerSec),
      p99_ms_at_4000: fixed.p99,
      baseline_p99_ms_at_4000: bareFixed.p99,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await Promise.all(children.map(stop));
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
