// npm run bench:rollout — safe rollouts under load: automatic canary rollback, shadow and sticky overhead.
//
// 1. A platform (SQLite, file artifacts) serves endpoint `calc` (a js adder) over HTTP in this process;
//    the rollout controller runs beside it (tick 100 ms, statistics flushed every 200 ms).
// 2. Rollback: autocannon (its own process, 8 connections) drives `calc` for 10 s; after 2 s a canary
//    deployment (20 %, error-rate alarm 5 %, evaluated every second) moves to a version that fails
//    30 % of its requests. rollback_s runs from green taking its share (its first failures) until blue
//    serves 100 % again; failed_requests are the non-2xx answers users saw in the whole run.
// 3. Shadow overhead: p99 of an endpoint with a 100 % shadow copy of the same model minus the same
//    endpoint without one (the baseline), 8 s each with 2 connections (at saturation with 8 the
//    shadow's extra CPU work on 2 cores is measured instead of its latency cost; autocannon's rate
//    limit sends in bursts). Sticky overhead: p99 with the sticky policy and a sticky-key header
//    minus weighted-random without it, same load. Env: BENCH_OVERHEAD_CONNECTIONS (2).
// The last line is JSON: {"eval_interval_s","rollback_s","failed_requests","total_requests","canary_percent","shadow_p99_overhead_ms","sticky_p99_overhead_ms"}.
import { mkdtempSync, rmSync } from 'node:fs';
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

const EVAL_S = 1;
const CANARY = 20;
const BODY = JSON.stringify({ a: 2, b: 3 });
const LIGHT = Number(process.env.BENCH_OVERHEAD_CONNECTIONS ?? 2);
const log = (msg: string) => process.stderr.write(`${msg}\n`);

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
    await rollouts.start('calc', { model: 'models:/adder/2', policy: { strategy: 'canary', canaryPercent: CANARY, waitSeconds: 600, evaluationIntervalSeconds: EVAL_S, alarms: [{ type: 'error-rate', threshold: 0.05, windowSeconds: 10 }] } });
    const greenAt = performance.now();
    let blueAt = 0;
    while (performance.now() - greenAt < 30_000) {
      const ep = await platform.serving.describe('calc');
      if (ep.variants.length === 1 && ep.variants[0].resolved.version === 1) {
        blueAt = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const seen = await load;
    const [d] = await rollouts.list('calc');
    log(`rollback: deployment ${d.status} (${d.reason}); ${seen.failed} of ${seen.total} requests failed at ${seen.reqPerSec.toFixed(0)} req/s`);

    // Shadow overhead: the same endpoint with and without a 100 % shadow copy.
    await platform.serving.create('plain', { variants: [{ name: 'primary', model: 'models:/adder/1' }] });
    await platform.serving.create('shadowed', { variants: [{ name: 'primary', model: 'models:/adder/1' }, { name: 'shadow', model: 'models:/adder/1', shadowPercent: 100 }] });
    await autocannon(url('plain'), BODY, 3, LIGHT);
    const plain = await autocannon(url('plain'), BODY, 8, LIGHT);
    await autocannon(url('shadowed'), BODY, 3, LIGHT);
    const shadowed = await autocannon(url('shadowed'), BODY, 8, LIGHT);
    log(`shadow: p99 ${shadowed.p99} ms with a 100 % shadow, ${plain.p99} ms without (${shadowed.reqPerSec.toFixed(0)} / ${plain.reqPerSec.toFixed(0)} req/s)`);

    // Sticky overhead: two variants, sticky policy with a key against weighted random.
    const two = [{ name: 'a', model: 'models:/adder/1' }, { name: 'b', model: 'models:/adder/1' }];
    await platform.serving.create('random', { variants: two });
    await platform.serving.create('sticky', { variants: two, trafficPolicy: { kind: 'sticky' } });
    await autocannon(url('random'), BODY, 3, LIGHT);
    const random = await autocannon(url('random'), BODY, 8, LIGHT);
    await autocannon(url('sticky'), BODY, 3, LIGHT, { 'x-capstan-sticky-key': 'user-1001' });
    const sticky = await autocannon(url('sticky'), BODY, 8, LIGHT, { 'x-capstan-sticky-key': 'user-1001' });
    log(`sticky: p99 ${sticky.p99} ms with a sticky key, ${random.p99} ms weighted random (${sticky.reqPerSec.toFixed(0)} / ${random.reqPerSec.toFixed(0)} req/s)`);

    console.log(
      JSON.stringify({
        eval_interval_s: EVAL_S,
        rollback_s: blueAt ? Math.round((blueAt - greenAt) / 10) / 100 : null,
        failed_requests: seen.failed,
        total_requests: seen.total,
        canary_percent: CANARY,
        shadow_p99_overhead_ms: shadowed.p99 - plain.p99,
        sticky_p99_overhead_ms: sticky.p99 - random.p99,
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
