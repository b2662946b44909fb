// The pipeline and scale-to-zero figures of bench:hosting (hosting issue items 2 and 3).
//
// On a throwaway home: the bench NCF package (MovieLens-1M sizes) behind three endpoints: `ncf-one`
// (the model as one stage), `ncf-chain` (js pre-process → the same NCF → js post-process) and
// `ncf-cold` (the NCF scaling to zero after 1 s idle, queue 100). Against one `capstan server`:
// autocannon on the one-stage and the 3-stage endpoints (same 100-candidate request) in alternating
// rounds, each figure the median of its rounds (run once each, one after the other, the ratio swung
// from 0.65 to 0.92 between runs on one host); then, once ncf-cold is at zero workers, 20 clients
// send at once, timing the first answer and counting failures.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileConfig } from '../../src/core/config.js';
import { silentLogger } from '../../src/core/logger.js';
import { openPlatform } from '../../src/platform/platform.js';
import { measureAlternating, type AlternatingOptions } from './alternating-rounds.js';
import { writeNcfBenchPackage } from './ncf-package.js';
import { log } from './log.js';
import { startCapstanServer } from './start-process.js';
import { stopProcess } from './stop-process.js';

/** The keys this module adds to the bench:hosting result line. */
export interface HostingPipelineResult {
  cold_start_ms: number;
  cold_queue_failed: number;
  pipeline3_req_per_s: number;
  pipeline3_ratio: number;
}

const ITEMS = Array.from({ length: 100 }, (_, i) => i + 1);
const PRE = 'export function predict(m, input) { return { user: input.userId, items: input.candidates }; }\n';
const POST = 'export function predict(m, output) { return { ranking: output }; }\n';
const COLD_CLIENTS = 20;

async function registerJs(platform: Awaited<ReturnType<typeof openPlatform>>, home: string, name: string, source: string): Promise<void> {
  const pkg = path.join(home, `pkg-${name}`);
  mkdirSync(pkg);
  writeFileSync(path.join(pkg, 'model.mjs'), source);
  writeFileSync(path.join(pkg, 'model.json'), JSON.stringify({ name, framework: 'js', entry: 'model.mjs' }));
  const v = await platform.registry.registerVersion(name, { packageDir: pkg });
  await platform.registry.setApproval(name, v.version, { status: 'Approved', comment: 'benchmark' });
}

/** Measures the 3-stage pipeline against one stage, and a cold start from zero under 20 concurrent clients. */
export async function measureHostingPipelines(o: AlternatingOptions): Promise<HostingPipelineResult> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-bench-pipelines-'));
  let child: ChildProcess | undefined;
  try {
    const platform = await openPlatform({ config: compileConfig({ flags: { home }, env: {}, cwd: home }), logger: silentLogger() });
    try {
      const ncf = path.join(home, 'pkg-ncf');
      await writeNcfBenchPackage(ncf);
      const v = await platform.registry.registerVersion('ncf', { packageDir: ncf });
      await platform.registry.setApproval('ncf', v.version, { status: 'Approved', comment: 'benchmark' });
      await registerJs(platform, home, 'pre', PRE);
      await registerJs(platform, home, 'post', POST);
      await platform.serving.create('ncf-one', { variants: [{ model: 'models:/ncf/1' }] });
      await platform.serving.create('ncf-chain', { variants: [{ model: 'models:/pre/1', pipeline: [{ model: 'models:/pre/1' }, { model: 'models:/ncf/1' }, { model: 'models:/post/1' }] }] });
      await platform.serving.create('ncf-cold', { variants: [{ model: 'models:/ncf/1', scaling: { min: 0, max: 1, idleTimeoutMs: 1000, queueSize: 100 } }] });
    } finally {
      await platform.close();
    }
    const server = await startCapstanServer({ CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'warn', CAPSTAN_AUTH: 'false' });
    child = server.child;
    const url = (p: string) => new URL(p, server.url).toString();
    const headers = { 'content-type': 'application/json' };
    const [single, chain] = (await measureAlternating(
      [
        { name: 'one stage', url: url('/endpoints/ncf-one/invocations'), body: JSON.stringify({ user: 42, items: ITEMS }), headers },
        { name: '3-stage pipeline', url: url('/endpoints/ncf-chain/invocations'), body: JSON.stringify({ userId: 42, candidates: ITEMS }), headers },
      ],
      o,
    )).map((side) => side.reqPerSec);
    log(`3-stage pipeline ${Math.round(chain)} req/s, one stage ${Math.round(single)} req/s (medians)`);

    // One request loads ncf-cold in the server (one worker, as create does); then the idle timeout takes it to zero.
    const body = JSON.stringify({ user: 7, items: ITEMS });
    const loaded = await fetch(url('/endpoints/ncf-cold/invocations'), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (!loaded.ok) throw new Error(`ncf-cold: capstan answered ${loaded.status}: ${await loaded.text()}`);
    for (let i = 0; ; i++) {
      const ep = (await (await fetch(url('/api/v1/endpoints/ncf-cold'))).json()) as { variants: { live?: { workers: number } }[] };
      if (ep.variants[0].live?.workers === 0) break;
      if (i > 600) throw new Error('ncf-cold never scaled to zero');
      await new Promise((r) => setTimeout(r, 100));
    }
    const sent = performance.now();
    let first = Number.POSITIVE_INFINITY;
    const statuses = await Promise.all(
      Array.from({ length: COLD_CLIENTS }, async () => {
        const res = await fetch(url('/endpoints/ncf-cold/invocations'), { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(() => undefined);
        if (res?.ok) first = Math.min(first, performance.now() - sent);
        await res?.arrayBuffer();
        return res?.status ?? 0;
      }),
    );
    return {
      cold_start_ms: Math.round(first),
      cold_queue_failed: statuses.filter((s) => s !== 200).length,
      pipeline3_req_per_s: Math.round(chain),
      pipeline3_ratio: Math.round((chain / single) * 100) / 100,
    };
  } finally {
    if (child) await stopProcess(child);
    rmSync(home, { recursive: true, force: true });
  }
}
