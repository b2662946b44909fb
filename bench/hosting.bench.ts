// npm run bench:hosting — model hosting figures: the cost of SigV4 authentication and multi-model endpoints.
//
// Registers a small js model (sums two numbers, so the gateway's work dominates) behind endpoint
// `shop` on a throwaway home (SQLite, file artifacts) with an `invoker` key that carries a SigV4 pair.
// Starts `capstan server` twice on that home, with auth on and with auth off, and drives them with
// autocannon (20 connections) in alternating rounds: one SigV4-signed InvokeEndpoint request replayed
// (a signature stays valid for 5 minutes; every request's signature is recomputed from its bytes and
// compared, the key's owner and secret come from the server's 5 s key cache), the same key as a bearer
// token (logged only), and unsigned requests;
// 5 rounds of 6 s per side after a 10 s warm-up of each server, the side that goes first alternating,
// each figure the median of its rounds (one run per side swung by ±25 % on this host).
// Then bench/support/hosting-pipelines.ts (a 3-stage pipeline vs the same NCF as one stage, in
// alternating rounds the same way, and a cold start from zero workers under 20 concurrent clients)
// and the multi-model sweep of bench/support/hosting-mme.ts on the same home.
// The last line is JSON with the keys: {"sigv4_req_per_s_ratio","cold_start_ms","cold_queue_failed",
// "pipeline3_req_per_s","pipeline3_ratio","mme_models","mme_hit_p99_ms","mme_load_ms_p50","mme_evictions"};
// the request rates behind the ratios are in the log lines before it.
// Env: BENCH_WARMUP_S (10), BENCH_DURATION_S (20), BENCH_CONNECTIONS (20), MME_MODELS (200), MME_BUDGET_MODELS (50).
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../src/auth/sigv4-verifier.js';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform } from '../src/platform/platform.js';
import { measureAlternating } from './support/alternating-rounds.js';
import { measureHostingPipelines } from './support/hosting-pipelines.js';
import { measureMultiModel } from './support/hosting-mme.js';
import { printResult, runBench } from './support/print-result.js';
import { startCapstanServer } from './support/start-process.js';
import { log } from './support/log.js';
import { stopProcess } from './support/stop-process.js';

const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 10);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
/** The sides of each ratio alternate this many times; each side gets 1.5 × the measured duration in all. */
const ROUNDS = 5;
const ROUND_S = Math.max(1, Math.round((DURATION_S * 1.5) / ROUNDS));

const BODY = JSON.stringify({ a: 1, b: 2 });
const MODEL = 'export function load() { return {}; }\nexport function predict(m, input) { return { sum: input.a + input.b }; }\n';

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-bench-hosting-'));
  const children: ChildProcess[] = [];
  try {
    const platform = await openPlatform({ config: compileConfig({ flags: { home }, env: {}, cwd: home }), logger: silentLogger() });
    let creds: { accessKeyId: string; secretAccessKey: string };
    let bearerKey: string;
    try {
      const pkg = path.join(home, 'adder');
      mkdirSync(pkg);
      writeFileSync(path.join(pkg, 'model.mjs'), MODEL);
      writeFileSync(path.join(pkg, 'model.json'), JSON.stringify({ name: 'adder', framework: 'js', entry: 'model.mjs' }));
      const v = await platform.registry.registerVersion('adder', { packageDir: pkg });
      await platform.registry.setApproval('adder', v.version, { status: 'Approved', comment: 'benchmark' });
      await platform.serving.create('shop', { variants: [{ model: `models:/adder/${v.version}` }] });
      const key = await platform.apiKeys.create('bench', 'invoker', { sigv4: true });
      creds = { accessKeyId: key.accessKeyId!, secretAccessKey: key.secretAccessKey! };
      bearerKey = key.key;
    } finally {
      await platform.close();
    }

    // Both servers run side by side (an idle one costs nothing) and the load alternates between them in
    // rounds, so a drift of the host during the run (another process, the CPU's clock) weighs on both
    // figures alike instead of on whichever ran second; each figure is the median of its rounds.
    const signedServer = await startCapstanServer({ CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'warn', CAPSTAN_AUTH: 'true' });
    children.push(signedServer.child);
    const open = await startCapstanServer({ CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'warn', CAPSTAN_AUTH: 'false' });
    children.push(open.child);
    const u = new URL('/endpoints/shop/invocations', signedServer.url);
    const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'sagemaker', sha256: NodeSha256 });
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: u.hostname, path: u.pathname, query: {}, headers: { host: u.host, 'content-type': 'application/json' }, body: BODY });
    const plainUrl = new URL('/endpoints/shop/invocations', open.url).toString();
    const plainHeaders = { 'content-type': 'application/json' };
    // The same key as a bearer token on the auth-on server: what auth costs a Capstan client, logged beside.
    const bearerHeaders = { 'content-type': 'application/json', authorization: `Bearer ${bearerKey}` };
    const [sigv4, bearer, plain] = (await measureAlternating(
      [
        { name: 'SigV4-authenticated', url: u.toString(), body: BODY, headers: signed.headers },
        { name: 'bearer key', url: u.toString(), body: BODY, headers: bearerHeaders },
        { name: 'unauthenticated', url: plainUrl, body: BODY, headers: plainHeaders },
      ],
      { rounds: ROUNDS, roundSeconds: ROUND_S, warmupSeconds: WARMUP_S, connections: CONNECTIONS },
    )).map((side) => side.reqPerSec);
    await stopProcess(signedServer.child);
    await stopProcess(open.child);
    log(`SigV4-authenticated ${Math.round(sigv4)} req/s, bearer key ${Math.round(bearer)} req/s (ratio ${(bearer / plain).toFixed(2)}), unauthenticated ${Math.round(plain)} req/s (medians)`);

    const result = { sigv4_req_per_s_ratio: Math.round((sigv4 / plain) * 100) / 100 };
    const pipelines = await measureHostingPipelines({ rounds: ROUNDS, roundSeconds: ROUND_S, warmupSeconds: WARMUP_S, connections: CONNECTIONS });
    const mme = await measureMultiModel(home, { seconds: DURATION_S, warmupSeconds: WARMUP_S, connections: CONNECTIONS });
    printResult({ ...result, ...pipelines, ...mme });
  } finally {
    await Promise.all(children.map((c) => stopProcess(c)));
    rmSync(home, { recursive: true, force: true });
  }
}

runBench(main);
