// npm run bench:decisions — the decision service under a fixed load: examples/decisions/transaction-risk.yaml
// (2 model calls: fraud, amount-anomaly; 5 online features; a 6-rule decision table), every decision stored.
//
// 1. On a throwaway home (SQLite, file artifacts): registers and deploys the example's model packages,
//    applies examples/decisions/customer-features.yaml to the feature store, pushes 5 features for
//    1,000 customers and materializes them online, applies and activates transaction-risk.
// 2. Starts the API server in its own process (bench/decisions-server.ts) and drives
//    POST /api/v1/decisions/transaction-risk with autocannon from another process at a fixed overall
//    rate (1,000 decisions/s) for 30 s after a 5 s warm-up; then, as the baseline measured in the same
//    run, one bare invocation of the fraud endpoint at the same rate.
// 3. Counts the records the measured window stored and replays them all in-process against the
//    active version (no model calls).
// The last line is JSON: {"req_per_s","p50_ms","p99_ms","successful","records_stored","replay_records_per_s"}.
// Env: BENCH_RATE (1000), BENCH_DURATION_S (30), BENCH_WARMUP_S (5), BENCH_CONNECTIONS (50).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { parseUserYaml } from '../src/core/user-yaml.js';
import type { DecisionService } from '../src/decisions/index.js';
import { deployExampleModels, EXAMPLES_DIR } from '../src/decisions/test-support/example-models.js';
import type { FeatureDefinitionsInput, FeatureService } from '../src/features/index.js';
import { contextModules } from '../src/platform/contexts.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 30);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const CUSTOMERS = 1000;

interface LoadResult {
  reqPerSec: number;
  p50: number;
  p99: number;
  ok: number;
  total: number;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function open(home: string): Promise<Platform> {
  return openPlatform({ config: compileConfig({ flags: { home }, env: {}, cwd: home }), logger: silentLogger(), contexts: contextModules });
}

function startServer(home: string): Promise<ChildProcess & { url?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/decisions-server.ts', home], { cwd: ROOT, env: { ...process.env, CAPSTAN_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = out.match(/"url":\s*"([^"]+)"/);
      if (m) resolve(Object.assign(child, { url: m[1] }));
    });
    child.on('exit', (code) => reject(new Error(`the server exited with code ${code}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

function parseResult(out: string, code: number | null): LoadResult {
  try {
    const r = JSON.parse(out.trim().split('\n').pop()!);
    return { reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, ok: r['2xx'], total: r.requests.total };
  } catch {
    throw new Error(`the load generator exited with code ${code} and no JSON result`);
  }
}

/** Decisions for 1,000 customers (each request its own input) at the fixed rate, from bench/decisions-load.ts. */
function decisionLoad(url: string, seconds: number, prefix: string): Promise<LoadResult> {
  const args = ['--import', 'tsx', 'bench/decisions-load.ts', url, String(RATE * seconds), String(RATE), String(CONNECTIONS), prefix];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      try {
        resolve(parseResult(out, code));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** autocannon in its own process at a fixed overall rate, one body. */
function autocannon(url: string, body: string, seconds: number): Promise<LoadResult> {
  const bodyFile = path.join(os.tmpdir(), `capstan-bench-decision-${process.pid}.json`);
  writeFileSync(bodyFile, body);
  const bin = path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
  // A fixed number of requests (rate × seconds) rather than a duration: every request sent is answered and counted.
  const args = [bin, '-c', String(CONNECTIONS), '-a', String(RATE * seconds), '-R', String(RATE), '-m', 'POST', '-H', 'content-type=application/json', '-i', bodyFile, '-j', url];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      try {
        resolve(parseResult(out, code));
      } catch (err) {
        reject(err);
      }
    });
  });
}

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-bench-decisions-'));
  let server: ChildProcess | undefined;
  try {
    log('deploying the example models, seeding features, applying transaction-risk …');
    let platform = await open(home);
    try {
      await deployExampleModels(platform, home);
      // The customer features through the real feature store: definitions, a push, materialization.
      const features = platform.context<FeatureService>('features');
      await features.apply(parseUserYaml(readFileSync(path.join(EXAMPLES_DIR, 'customer-features.yaml'), 'utf8'), 'customer-features.yaml') as FeatureDefinitionsInput);
      const eventTime = new Date().toISOString();
      const records = Array.from({ length: CUSTOMERS }, (_, c) => ({ customer_id: `c-${c}`, event_time: eventTime, avg_amount_30d: 50 + (c % 200), std_amount_30d: 20 + (c % 30), tx_count_24h: c % 5, account_age_days: 10 + c, chargebacks_90d: c % 17 === 0 ? 2 : 0 }));
      await features.pushRecords('customers', records);
      await features.materialize('customers');
      const def = parseUserYaml(readFileSync(path.join(EXAMPLES_DIR, 'transaction-risk.yaml'), 'utf8'), 'transaction-risk.yaml');
      await platform.context<DecisionService>('decisions').apply(def, { activate: true });
    } finally {
      await platform.close();
    }

    server = await startServer(home);
    const url = (server as { url?: string }).url!;
    const bodyFor = (customer: string) => JSON.stringify({ transaction_id: 't-1', customer_id: customer, amount: 129.9, merchant_risk: 0.1, hour: 14, distance_km: 3, foreign: false, card_present: true });
    // The server loads a model on its first call (no background host here): load both before timing anything.
    for (const [endpoint, payload] of [['fraud', { amount: 1 }], ['amount-anomaly', { amount: 1 }]] as const) {
      const res = await fetch(`${url}/endpoints/${endpoint}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
      if (!res.ok) throw new Error(`endpoint ${endpoint} answered ${res.status}: ${await res.text()}`);
    }
    const check = await fetch(`${url}/api/v1/decisions/transaction-risk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodyFor('x-1') });
    if (!check.ok) throw new Error(`the decision answered ${check.status}: ${await check.text()}`);
    log(`decision: ${await check.text()}`);
    log(`warm-up ${WARMUP_S} s …`);
    // Warm-up and measured calls name different customers (w-…, c-…), so the measured records are counted apart.
    await decisionLoad(`${url}/api/v1/decisions/transaction-risk`, WARMUP_S, 'w');
    const from = new Date().toISOString();
    log(`measuring ${DURATION_S} s at ${RATE} decisions/s with ${CONNECTIONS} connections …`);
    const run = await decisionLoad(`${url}/api/v1/decisions/transaction-risk`, DURATION_S, 'c');
    const until = new Date(Date.now() + 1000).toISOString();
    log(`decisions: ${run.reqPerSec.toFixed(0)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms, 2xx ${run.ok} of ${run.total}`);
    const fraudBody = JSON.stringify({ instances: [{ amount: 129.9, merchant_risk: 0.1, hour: 14, distance_km: 3, foreign: false, card_present: true, tx_last_24h: 1 }] });
    const base = await autocannon(`${url}/endpoints/fraud/invocations`, fraudBody, DURATION_S);
    log(`baseline, one fraud invocation: ${base.reqPerSec.toFixed(0)} req/s, p50 ${base.p50} ms, p99 ${base.p99} ms, 2xx ${base.ok} of ${base.total}`);
    await stop(server);
    server = undefined;

    platform = await open(home);
    let stored: number;
    let replayPerSec: number;
    try {
      const decisions = platform.context<DecisionService>('decisions');
      const counted = await platform.db.kysely
        .selectFrom('decision_records')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('usecase', '=', 'transaction-risk')
        .where('subject', 'like', 'c-%')
        .where('created_at', '>=', Date.parse(from))
        .executeTakeFirstOrThrow();
      stored = Number(counted.n);
      const report = await decisions.replay('transaction-risk', { version: 1, since: from, until, examples: 0, limit: 1_000_000 });
      if (report.changed !== 0 || report.detailsChanged !== 0) throw new Error(`the exact replay changed ${report.changed} outcomes and ${report.detailsChanged} details`);
      log(`replay: ${report.records} records, ${report.changed} changed, ${report.skipped} skipped, ${report.recordsPerSecond} records/s`);
      replayPerSec = report.recordsPerSecond;
    } finally {
      await platform.close();
    }
    const result = { req_per_s: Math.round(run.reqPerSec), p50_ms: run.p50, p99_ms: run.p99, successful: run.ok, records_stored: stored, replay_records_per_s: replayPerSec };
    log(`baseline (same run): {"req_per_s":${Math.round(base.reqPerSec)},"p50_ms":${base.p50},"p99_ms":${base.p99}}`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    if (server) await stop(server);
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
