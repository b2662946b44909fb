// npm run bench:decisions — the decision service under a fixed load: examples/decisions/transaction-risk.yaml
// (2 model calls: fraud, amount-anomaly; 5 online features; a 6-rule decision table), every decision stored.
//
// 1. On a throwaway home (SQLite, file artifacts): registers and deploys the example's model packages,
//    applies examples/decisions/customer-features.yaml to the feature store, pushes 5 features for
//    1,000 customers and materializes them online, applies and activates transaction-risk.
// 2. Starts the API server in its own process (`capstan server`, the compiled CLI) and drives
//    POST /api/v1/decisions/transaction-risk with autocannon from another process at a fixed overall
//    rate (1,000 decisions/s) for 30 s after a 5 s warm-up; then, as the baseline measured in the same
//    run, one bare invocation of the fraud endpoint at the same rate. autocannon holds a rate by giving
//    each connection its quota per second, which it sends back to back: the connection count is the
//    size of the bursts. 10 is about what 1,000/s at ~10 ms needs (Little's law); 50 (the default
//    before 2026-12-02) measured 50-request bursts queueing behind each other.
// 3. Counts the records the measured window stored and replays them all in-process against the
//    active version (no model calls).
// The last line is JSON: {"req_per_s","p50_ms","p99_ms","successful","records_stored","replay_records_per_s"}.
// Env: BENCH_RATE (1000), BENCH_DURATION_S (30), BENCH_WARMUP_S (5), BENCH_CONNECTIONS (10).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { parseUserYaml } from '../src/core/user-yaml.js';
import type { DecisionService } from '../src/decisions/index.js';
import { deployExampleModels, EXAMPLES_DIR } from '../src/decisions/test-support/example-models.js';
import type { FeatureDefinitionsInput, FeatureService } from '../src/features/index.js';
import { contextModules } from '../src/platform/contexts.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { autocannon, parseLoadResult, type LoadResult } from './support/autocannon.js';
import { log } from './support/log.js';
import { printResult, runBench } from './support/print-result.js';
import { REPO_ROOT } from './support/repo-root.js';
import { startCapstanServer } from './support/start-process.js';
import { stopProcess } from './support/stop-process.js';

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 30);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const CUSTOMERS = 1000;

function open(home: string): Promise<Platform> {
  return openPlatform({ config: compileConfig({ flags: { home }, env: {}, cwd: home }), logger: silentLogger(), contexts: contextModules });
}

/** Decisions for 1,000 customers (each request its own input) at the fixed rate, from bench/decisions-load.ts. */
function decisionLoad(url: string, seconds: number, prefix: string): Promise<LoadResult> {
  const args = ['--import', 'tsx', 'bench/decisions-load.ts', url, String(RATE * seconds), String(RATE), String(CONNECTIONS), prefix];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      try {
        resolve(parseLoadResult(out, code));
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

    const started = await startCapstanServer({ CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'warn' });
    server = started.child;
    const url = started.url;
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
    // A fixed number of requests (rate × seconds) rather than a duration: every request sent is answered and counted.
    const base = await autocannon(`${url}/endpoints/fraud/invocations`, { connections: CONNECTIONS, amount: RATE * DURATION_S, rate: RATE, body: fraudBody });
    log(`baseline, one fraud invocation: ${base.reqPerSec.toFixed(0)} req/s, p50 ${base.p50} ms, p99 ${base.p99} ms, 2xx ${base.ok} of ${base.total}`);
    await stopProcess(server);
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
    printResult(result);
  } finally {
    if (server) await stopProcess(server);
    rmSync(home, { recursive: true, force: true });
  }
}

runBench(main);
