// The multi-model part of `npm run bench:hosting`: MME_MODELS (200) small NCF packages (the test
// fixture's NeuMF shape: 50 users, 200 items, factor 8) in folders under one artifact prefix, behind
// one endpoint whose multi-model variant holds MME_BUDGET_MODELS (50) of them by its memory budget.
// Each model is asked for once, one after another (the wait budget is long, so every first request
// waits for its load: its latency is the load time); then one resident model is driven with autocannon.
// Keys: mme_models (models that answered), mme_hit_p99_ms (p99 on a resident model),
// mme_load_ms_p50 (median first-request latency, fetch + session + worker start),
// mme_evictions (models unloaded to stay within the budget during the sweep).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../../src/core/config.js';
import { silentLogger } from '../../src/core/logger.js';
import { openPlatform } from '../../src/platform/platform.js';
import { writeNcfPackage } from '../../src/serving/test-support/ncf-package-fixture.js';
import type { EndpointModels } from '../../src/serving/index.js';
import { measureLoad } from './measure-load.js';
import { log } from './log.js';
import { startCapstanServer } from './start-process.js';
import { stopProcess } from './stop-process.js';

/** The multi-model figures of the hosting bench. */
export interface MmeResult {
  mme_models: number;
  mme_hit_p99_ms: number;
  mme_load_ms_p50: number;
  mme_evictions: number;
}

const BODY = JSON.stringify({ user: 1001, items: [5001, 5002, 5003, 5004, 5005] });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)];
}

/** Sets up the endpoint in `home`, starts a server on it, sweeps the models and measures hits; `seconds` and `warmupSeconds` are the hit run's. */
export async function measureMultiModel(home: string, options: { seconds: number; warmupSeconds: number; connections: number }): Promise<MmeResult> {
  const count = Number(process.env.MME_MODELS ?? 200);
  const budgetModels = Number(process.env.MME_BUDGET_MODELS ?? 50);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'capstan-bench-mme-'));
  try {
    for (let i = 0; i < count; i++) writeNcfPackage(path.join(scratch, `m${String(i).padStart(3, '0')}`), { seed: i + 1 });
    const one = path.join(scratch, 'm000');
    const packageBytes = readdirSync(one).reduce((n, f) => n + statSync(path.join(one, f)).size, 0);
    const platform = await openPlatform({ config: compileConfig({ flags: { home }, env: {}, cwd: home }), logger: silentLogger() });
    try {
      await platform.artifacts.uploadDirectory(scratch, 'mme/bench');
      // The budget counts package bytes (plus a small marker file per model), so it holds budgetModels of them.
      const budget = Math.floor(packageBytes * (budgetModels + 0.5));
      await platform.serving.create('mme', { variants: [{ name: 'all', model: 'artifacts:/mme/bench', multiModel: { source: 'artifacts:/mme/bench', memoryBudgetBytes: budget, maxModels: budgetModels + 1, loadWaitMs: 120_000 } }] });
    } finally {
      await platform.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const server = await startCapstanServer({ CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'warn', CAPSTAN_AUTH: 'false' });
  try {
    const url = new URL('/endpoints/mme/invocations', server.url).toString();
    const loadMs: number[] = [];
    let answered = 0;
    for (let i = 0; i < count; i++) {
      const target = `m${String(i).padStart(3, '0')}`;
      const started = performance.now();
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-capstan-target-model': target }, body: BODY });
      const text = await res.text();
      if (!res.ok) throw new Error(`multi-model: ${target} answered ${res.status}: ${text}`);
      loadMs.push(performance.now() - started);
      answered++;
    }
    const last = `m${String(count - 1).padStart(3, '0')}`;
    const r = await measureLoad('multi-model hit', url, { connections: options.connections, seconds: options.seconds, warmupSeconds: options.warmupSeconds, body: BODY, headers: { 'content-type': 'application/json', 'x-capstan-target-model': last } });
    if (r.non2xx + r.errors > 0) throw new Error(`multi-model hit: ${r.non2xx} non-2xx answers and ${r.errors} errors`);
    const listed = (await (await fetch(new URL('/api/v1/endpoints/mme/models', server.url))).json()) as EndpointModels;
    const v = listed.variants[0];
    log(`multi-model: ${answered} models, ${v.models.length} resident (${v.residentBytes} bytes), ${v.loads} loads, ${v.evictions} evictions, load p50 ${median(loadMs).toFixed(1)} ms`);
    return { mme_models: answered, mme_hit_p99_ms: r.p99, mme_load_ms_p50: Math.round(median(loadMs) * 10) / 10, mme_evictions: v.evictions };
  } finally {
    await stopProcess(server.child);
  }
}
