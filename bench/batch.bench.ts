// npm run bench:batch — batch transform and asynchronous inference throughput of an NCF model.
//
// 1. Exports a NeuMF package (factor 32, 3 layers, MovieLens-1M sizes) and registers it as ncf@champion
//    on a throwaway home (SQLite, file artifacts); writes BENCH_RECORDS ranking records (one user × 100
//    candidates each) as JSON Lines.
// 2. Batch: `capstan batch run --wait` in its own process (MultiRecord, BENCH_CONCURRENCY threads);
//    records_per_s is records over the job's wall time (created → finished, planning included);
//    peak_rss_mb is that process's VmHWM.
// 3. Real time: `capstan up` serves endpoint ncf (BENCH_INSTANCES threads, batching up to 1024 rows);
//    autocannon drives 100-candidate requests (50 connections, warm-up then measured) from another
//    process: realtime_records_per_s. ratio = records_per_s / realtime_records_per_s.
// 4. Async: BENCH_ASYNC requests POSTed to /endpoints/ncf/async-invocations (each with an inference id),
//    drained by the `capstan up` worker plus a `capstan worker` that is SIGKILLed halfway through the
//    drain (leases 3 s). async_drain_s: first POST → last request ended. async_lost: accepted requests
//    that never completed; async_duplicated_outputs: output objects or success events beyond one per request.
// The last line is JSON with exactly the keys.
// Env: BENCH_RECORDS (1000000), BENCH_ASYNC (10000), BENCH_CONCURRENCY (2), BENCH_INSTANCES (1),
//      BENCH_WARMUP_S (5), BENCH_DURATION_S (20), BENCH_CONNECTIONS (50).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Random } from '../src/algorithms/ncf/random.js';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { autocannon } from './support/autocannon.js';
import { log } from './support/log.js';
import { NCF_ITEMS, NCF_USERS, writeNcfBenchPackage } from './support/ncf-package.js';
import { peakRssMb } from './support/peak-rss.js';
import { printResult, runBench } from './support/print-result.js';
import { REPO_ROOT } from './support/repo-root.js';
import { capstanCommand, startCapstan } from './support/start-process.js';
import { stopProcess } from './support/stop-process.js';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const ASYNC = Number(process.env.BENCH_ASYNC ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 2);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);

/** One ranking record per line: a user and 100 candidate items. */
async function writeRecords(file: string, n: number): Promise<void> {
  const rng = new Random(7);
  const out = createWriteStream(file);
  for (let i = 0; i < n; i++) {
    const items = new Array(100);
    for (let k = 0; k < 100; k++) items[k] = 1 + (rng.nextU32() % NCF_ITEMS);
    if (!out.write(`{"user":${1 + (rng.nextU32() % NCF_USERS)},"items":[${items.join(',')}]}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

function run(args: string[], env: Record<string, string>): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string }> } {
  const child = spawn(process.execPath, [...capstanCommand(), ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => process.stderr.write(c));
  return { child, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout }))) };
}

async function countStates(platform: Platform): Promise<Record<string, number>> {
  const rows = await platform.db.kysely.selectFrom('async_invocations').select(['state']).select((eb) => eb.fn.countAll().as('n')).groupBy('state').execute();
  return Object.fromEntries(rows.map((r) => [r.state as string, Number(r.n)]));
}

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-bench-batch-'));
  const env = { CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'warn', CAPSTAN_QUEUE_LEASE_MS: '3000', CAPSTAN_QUEUE_HEARTBEAT_MS: '1000', CAPSTAN_QUEUE_POLL_MS: '50' };
  const children: ChildProcess[] = [];
  try {
    log('exporting the NCF package (factor 32, 3 layers, 6040 users, 3706 items) …');
    await writeNcfBenchPackage(path.join(home, 'ncf-package'));
    const config = compileConfig({ flags: {}, env, cwd: home });
    let platform = await openPlatform({ config, logger: silentLogger() });
    const v = await platform.registry.registerVersion('ncf', { packageDir: path.join(home, 'ncf-package') });
    await platform.registry.setApproval('ncf', v.version, { status: 'Approved', comment: 'benchmark' });
    await platform.registry.setAlias('ncf', 'champion', v.version);
    log(`writing ${RECORDS} ranking records …`);
    const inputFile = path.join(home, 'records.jsonl');
    await writeRecords(inputFile, RECORDS);
    await platform.artifacts.put('bench/in/records.jsonl', (await import('node:fs')).createReadStream(inputFile));
    rmSync(inputFile);
    const input = platform.artifacts.uriFor('bench/in/records.jsonl');
    const output = platform.artifacts.uriFor('bench/out');
    await platform.close();

    log(`batch: ${RECORDS} records, MultiRecord, concurrency ${CONCURRENCY} …`);
    const batch = run(['batch', 'run', '--model', 'ncf@champion', '--input', input, '--output', output, '--concurrency', String(CONCURRENCY), '--records-per-shard', '20000', '--wait', '--json'], env);
    children.push(batch.child);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, peakRssMb(batch.child.pid!))), 250);
    const finished = await batch.done;
    clearInterval(sampler);
    if (finished.code !== 0) throw new Error(`batch run exited with ${finished.code}`);
    const job = JSON.parse(finished.stdout);
    if (job.state !== 'Completed') throw new Error(`batch job ended ${job.state}: ${job.failureReason}`);
    const batchSeconds = (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1000;
    const recordsPerS = RECORDS / batchSeconds;
    log(`batch: ${job.records.done} records in ${batchSeconds.toFixed(1)} s = ${recordsPerS.toFixed(0)} records/s, peak RSS ${peak.toFixed(0)} MB`);

    platform = await openPlatform({ config, logger: silentLogger() });
    const ep = await platform.serving.create('ncf', { variants: [{ model: 'models:/ncf@champion', instances: INSTANCES, batching: { maxBatchSize: 1024, maxDelayMs: 0 } }] });
    if (ep.status !== 'InService') throw new Error(`endpoint failed: ${ep.statusReason}`);
    await platform.close();

    log('real time: capstan up …');
    const up = await startCapstan(['up', '--port', '0', '--json'], env);
    children.push(up.child);
    const rng = new Random(11);
    const body = JSON.stringify({ user: 17, items: Array.from({ length: 100 }, () => 1 + (rng.nextU32() % NCF_ITEMS)) });
    const invocations = `${up.url}/endpoints/ncf/invocations`;
    await autocannon(invocations, { connections: CONNECTIONS, seconds: WARMUP_S, body });
    const rt = await autocannon(invocations, { connections: CONNECTIONS, seconds: DURATION_S, body });
    log(`real time: ${rt.reqPerSec.toFixed(0)} records/s (errors ${rt.errors + rt.non2xx})`);

    log(`async: ${ASYNC} requests, a worker SIGKILLed during the drain …`);
    const worker = run(['worker', '--queues', 'async'], env);
    children.push(worker.child);
    platform = await openPlatform({ config, logger: silentLogger() });
    const asyncUrl = `${up.url}/endpoints/ncf/async-invocations`;
    const t0 = Date.now();
    let accepted = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < ASYNC) {
          const i = next++;
          const rid = JSON.stringify({ user: 1 + (i % NCF_USERS), items: Array.from({ length: 100 }, (_, k) => 1 + ((i * 31 + k * 7) % NCF_ITEMS)) });
          const res = await fetch(asyncUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-amzn-sagemaker-inference-id': `bench-${i}` }, body: rid });
          if (res.status === 202) accepted++;
          await res.arrayBuffer();
        }
      }),
    );
    log(`async: ${accepted} accepted in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    let killed = false;
    let states: Record<string, number> = {};
    const deadline = Date.now() + 15 * 60_000;
    for (;;) {
      states = await countStates(platform);
      const ended = (states.Completed ?? 0) + (states.Failed ?? 0) + (states.Expired ?? 0);
      if (!killed && ended >= accepted / 2) {
        worker.child.kill('SIGKILL');
        killed = true;
        log(`async: SIGKILLed the worker after ${ended} of ${accepted} ended`);
      }
      if (ended >= accepted || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const drainS = (Date.now() - t0) / 1000;
    if (!killed) log('async: the drain ended before the worker could be killed');
    const completed = states.Completed ?? 0;
    const outputs = await platform.artifacts.list('async/ncf/output/');
    const events = await platform.db.kysely
      .selectFrom('outbox_events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('type', '=', 'async_invocation.succeeded')
      .executeTakeFirst()
      .catch(() => undefined);
    const succeededEvents = events ? Number(events.n) : completed;
    const duplicated = Math.max(0, outputs.length - completed) + Math.max(0, succeededEvents - completed);
    log(`async: states ${JSON.stringify(states)}, ${outputs.length} outputs, ${succeededEvents} success events, drained in ${drainS.toFixed(1)} s`);
    await platform.close();
    await stopProcess(up.child, { graceMs: 20_000 });

    const result = {
      records: RECORDS,
      records_per_s: Math.round(recordsPerS),
      realtime_records_per_s: Math.round(rt.reqPerSec),
      ratio: Math.round((recordsPerS / rt.reqPerSec) * 100) / 100,
      peak_rss_mb: Math.round(peak),
      async_requests: ASYNC,
      async_drain_s: Math.round(drainS * 10) / 10,
      async_lost: ASYNC - completed,
      async_duplicated_outputs: duplicated,
    };
    printResult(result);
  } finally {
    await Promise.all(children.map((c) => stopProcess(c, { graceMs: 20_000 })));
    if (existsSync(home)) rmSync(home, { recursive: true, force: true });
  }
}

runBench(main);
