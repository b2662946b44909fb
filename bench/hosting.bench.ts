// npm run bench:hosting — model hosting figures. Implemented so far: the cost of SigV4 authentication.
//
// Registers a small js model (sums two numbers, so the gateway's work dominates) behind endpoint
// `shop` on a throwaway home (SQLite, file artifacts) with an `invoker` key that carries a SigV4 pair.
// Starts `capstan server` with auth on and drives it with autocannon (10 s warm-up, 20 s measured,
// 20 connections) replaying one SigV4-signed InvokeEndpoint request (a signature stays valid for 5
// minutes, so every request is verified in full: key lookup, secret unsealing, signature); then the
// same server with auth off and unsigned requests.
// The last line is JSON: {"sigv4_req_per_s","unauthenticated_req_per_s","sigv4_req_per_s_ratio"}.
// The other keys the hosting issue names (multi-model, cold start, pipelines) are not measured yet.
// Env: BENCH_WARMUP_S (10), BENCH_DURATION_S (20), BENCH_CONNECTIONS (20).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../src/auth/sigv4-verifier.js';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform } from '../src/platform/platform.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 10);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const BODY = JSON.stringify({ a: 1, b: 2 });
const MODEL = 'export function load() { return {}; }\nexport function predict(m, input) { return { sum: input.a + input.b }; }\n';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Starts `capstan server` and resolves with the URL it prints. */
function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/entry.ts', 'server', '--port', '0', '--json'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = out.match(/"url":\s*"([^"]+)"/);
      if (match) resolve({ child, url: match[1] });
    });
    child.on('exit', (code) => reject(new Error(`capstan server exited with code ${code} before printing its URL`)));
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

/** Runs autocannon in its own process with the given headers; resolves with requests per second (2xx only counted as success). */
function autocannon(url: string, headers: Record<string, string>, seconds: number): Promise<{ reqPerSec: number; non2xx: number; errors: number }> {
  const bodyFile = path.join(os.tmpdir(), `capstan-bench-hosting-${process.pid}.json`);
  writeFileSync(bodyFile, BODY);
  const bin = path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
  const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '-c', String(CONNECTIONS), '-d', String(seconds), '-m', 'POST', ...h, '-i', bodyFile, '-j', url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      try {
        const r = JSON.parse(out);
        resolve({ reqPerSec: r.requests.average, non2xx: r.non2xx, errors: r.errors + r.timeouts });
      } catch {
        reject(new Error(`autocannon exited with code ${code} and no JSON result`));
      }
    });
  });
}

async function measure(name: string, url: string, headers: Record<string, string>): Promise<number> {
  const check = await fetch(url, { method: 'POST', headers, body: BODY });
  if (!check.ok) throw new Error(`${name}: capstan answered ${check.status}: ${await check.text()}`);
  log(`${name}: warm-up ${WARMUP_S} s …`);
  await autocannon(url, headers, WARMUP_S);
  const r = await autocannon(url, headers, DURATION_S);
  log(`${name}: ${r.reqPerSec.toFixed(0)} req/s, non-2xx ${r.non2xx}, errors ${r.errors}`);
  if (r.non2xx + r.errors > 0) throw new Error(`${name}: ${r.non2xx} non-2xx answers and ${r.errors} errors`);
  return r.reqPerSec;
}

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-bench-hosting-'));
  const children: ChildProcess[] = [];
  try {
    const platform = await openPlatform({ config: compileConfig({ flags: { home }, env: {}, cwd: home }), logger: silentLogger() });
    let creds: { accessKeyId: string; secretAccessKey: string };
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
    } finally {
      await platform.close();
    }

    const signedServer = await startServer({ CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'warn', CAPSTAN_AUTH: 'true' });
    children.push(signedServer.child);
    const u = new URL('/endpoints/shop/invocations', signedServer.url);
    const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'sagemaker', sha256: NodeSha256 });
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: u.hostname, path: u.pathname, query: {}, headers: { host: u.host, 'content-type': 'application/json' }, body: BODY });
    const sigv4 = await measure('SigV4-authenticated', u.toString(), signed.headers);
    await stop(signedServer.child);

    const open = await startServer({ CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'warn', CAPSTAN_AUTH: 'false' });
    children.push(open.child);
    const plain = await measure('unauthenticated', new URL('/endpoints/shop/invocations', open.url).toString(), { 'content-type': 'application/json' });
    await stop(open.child);

    const result = { sigv4_req_per_s: Math.round(sigv4), unauthenticated_req_per_s: Math.round(plain), sigv4_req_per_s_ratio: Math.round((sigv4 / plain) * 100) / 100 };
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
