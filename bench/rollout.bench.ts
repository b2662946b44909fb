// npm run bench:rollout — safe rollouts under load: automatic canary rollback, shadow and sticky overhead.
//
// 1. A platform (SQLite, file artifacts) serves endpoint `calc` (a js adder) over HTTP in this process;
//    the rollout controller runs beside it (tick 100 ms, statistics flushed every 200 ms).
// 2. Rollback: autocannon (its own process, 8 connections) drives `calc` for 10 s; after 2 s a canary
//    deployment (20 %, error-rate alarm 5 %, evaluated every second) moves to a version that fails
//    30 % of its requests. rollback_s runs from green's first failure (the model writes its wall-clock
//    time) until blue serves 100 % again; failed_requests are the non-2xx answers users saw in the whole run.
// 3. Shadow overhead: p99 of an endpoint with a 100 % shadow copy of the same model minus the same
//    endpoint without one, with 2 connections (at saturation the shadow's extra CPU work on 2 cores is
//    measured instead of its latency cost). Fair by construction: BENCH_OVERHEAD_ROUNDS rounds (5),
//    each warming both endpoints alike (1 s) and measuring both for BENCH_OVERHEAD_S (4 s) in
//    alternating order; the figure is the median of the per-round differences. Sticky overhead: the
//    same with the sticky policy and a sticky-key header against weighted random. Env:
//    BENCH_OVERHEAD_CONNECTIONS (2), BENCH_OVERHEAD_ROUNDS, BENCH_OVERHEAD_S.
// The last line is JSON: {"eval_interval_s","rollback_s","failed_requests","total_requests","canary_percent","shadow_p99_overhead_ms","sticky_p99_overhead_ms"}.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform } from '../src/platform/platform.js';
import type { RolloutService } from '../src/rollouts/index.js';
import { autocannon } from '../src/rollouts/test-support/rollout-fixtures.js';
import { writeAdderPackage } from '../src/rollouts/test-support/rollout-fixtures.js';
import { buildApp } from '../src/server/app.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { median } from './support/median.js';

const EVAL_S = 1;
const CANARY = 20;
const BODY = JSON.stringify({ a: 2, b: 3 });
const LIGHT = Number(process.env.BENCH_OVERHEAD_CONNECTIONS ?? 2);
const ROUNDS = Number(process.env.BENCH_OVERHEAD_ROUNDS ?? 5);
const ROUND_S = Number(process.env.BENCH_OVERHEAD_S ?? 4);
const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** Median over rounds of p99(with) − p99(without): both warmed alike, measured in alternating order. */
async function p99Overhead(what: string, without: { url: string; headers?: Record<string, string> }, withIt: { url: string; headers?: Record<string, string> }): Promise<number> {
  const diffs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [without, withIt] : [withIt, without];
    for (const t of order) await autocannon(t.url, BODY, 1, LIGHT, t.headers);
    const p99 = new Map<object, number>();
    for (const t of order) p99.set(t, (await autocannon(t.url, BODY, ROUND_S, LIGHT, t.headers)).p99);
    diffs.push(p99.get(withIt)! - p99.get(without)!);
    log(`${what} round ${round + 1}: p99 ${p99.get(withIt)} ms with, ${p99.get(without)} ms without`);
  }
  return median(diffs);
}

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-bench-rollout-'));
  const platform = await openPlatform({ config: compileConfig({ flags: { home, 'serving.statsFlushMs': 200, 'rollouts.tickMs': 100 }, env: {}, cwd: home }), logger: silentLogger() });
  const services = platform.background.filter((s) => s.name === 'endpoint-host' || s.name === 'rollout-controller');
  const app = await buildApp(platform);
  try {
    for (const s of services) await s.start();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const url = (ep: string) => `${base}/endpoints/${ep}/invocations`;
    await registerApproved(platform.registry, 'adder', { packageDir: writeAdderPackage(path.join(home, 'v1')) });
    await registerApproved(platform.registry, 'adder', { packageDir: writeAdderPackage(path.join(home, 'v2'), 30) });
    const rollouts = platform.context<RolloutService>('rollouts');

    // Rollback under load.
    await platform.serving.create('calc', { variants: [{ name: 'primary', model: 'models:/adder/1' }] });
    log('rollback: 10 s of load, canary to the failing version after 2 s …');
    const load = autocannon(url('calc'), BODY, 10);
    await new Promise((r) => setTimeout(r, 2000));
    const failureLog = path.join(home, 'green-first-failure');
    await rollouts.start('calc', { model: 'models:/adder/2', settings: { handlerOptions: { failureLog } }, policy: { strategy: 'canary', canaryPercent: CANARY, waitSeconds: 600, evaluationIntervalSeconds: EVAL_S, alarms: [{ type: 'error-rate', threshold: 0.05, windowSeconds: 10 }] } });
    const startedAt = Date.now();
    let blueAt = 0;
    while (Date.now() - startedAt < 30_000) {
      const ep = await platform.serving.describe('calc');
      if (ep.variants.length === 1 && ep.variants[0].resolved.version === 1) {
        blueAt = Date.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const firstFailureAt = existsSync(failureLog) ? Number(readFileSync(failureLog, 'utf8').split('\n')[0]) : undefined;
    const seen = await load;
    const [d] = await rollouts.list('calc');
    log(`rollback: deployment ${d.status} (${d.reason}); ${seen.failed} of ${seen.total} requests failed at ${seen.reqPerSec.toFixed(0)} req/s`);

    // Shadow overhead: the same endpoint with and without a 100 % shadow copy.
    await platform.serving.create('plain', { variants: [{ name: 'primary', model: 'models:/adder/1' }] });
    await platform.serving.create('shadowed', { variants: [{ name: 'primary', model: 'models:/adder/1' }, { name: 'shadow', model: 'models:/adder/1', shadowPercent: 100 }] });
    const shadowOverhead = await p99Overhead('shadow', { url: url('plain') }, { url: url('shadowed') });
    log(`shadow: median p99 overhead ${shadowOverhead} ms over ${ROUNDS} rounds`);

    // Sticky overhead: two variants, sticky policy with a key against weighted random.
    const two = [{ name: 'a', model: 'models:/adder/1' }, { name: 'b', model: 'models:/adder/1' }];
    await platform.serving.create('random', { variants: two });
    await platform.serving.create('sticky', { variants: two, trafficPolicy: { kind: 'sticky' } });
    const stickyOverhead = await p99Overhead('sticky', { url: url('random') }, { url: url('sticky'), headers: { 'x-capstan-sticky-key': 'user-1001' } });
    log(`sticky: median p99 overhead ${stickyOverhead} ms over ${ROUNDS} rounds`);

    console.log(
      JSON.stringify({
        eval_interval_s: EVAL_S,
        // From green's first failure; null when green never failed or blue never came back.
        rollback_s: blueAt && firstFailureAt ? Math.round((blueAt - firstFailureAt) / 10) / 100 : null,
        failed_requests: seen.failed,
        total_requests: seen.total,
        canary_percent: CANARY,
        shadow_p99_overhead_ms: shadowOverhead,
        sticky_p99_overhead_ms: stickyOverhead,
      }),
    );
  } finally {
    await app.close();
    for (const s of [...services].reverse()) await s.stop();
    await platform.close();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
