// npm run bench:python — serving a scikit-learn model through inference.py, and the Python client.
//
// 1. bench/python/train_model.py fits a logistic regression on 100 generated features and writes a
//    `python` package (inference.py, PREDICT_BATCH); the same coefficients become an ONNX graph
//    (MatMul, Add, Sigmoid), checked to give the same probability.
// 2. Both are registered on a throwaway home (SQLite, file artifacts). cold_start_ms = creating a
//    one-instance python endpoint (process start, imports, model_fn), median of 3.
// 3. `capstan server` in its own process, driven by autocannon from another on loopback: 50
//    connections, warm-up then measured, one 100-feature row per request; the python endpoint with 2
//    worker processes and dynamic batching, then the ONNX endpoint (2 worker threads, batching).
// 4. The Python client logs BENCH_METRIC_POINTS metric points (batched) against that server.
// 5. Baseline in the same run (stderr only): the model behind Python's own ThreadingHTTPServer.
// The last line is JSON: {"req_per_s","p99_ms","onnx_req_per_s","cold_start_ms","client_log_metrics_per_s"}.
// Env: BENCH_WARMUP_S (5), BENCH_DURATION_S (20), BENCH_CONNECTIONS (50), BENCH_METRIC_POINTS (50000), BENCH_PYTHON.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform } from '../src/platform/platform.js';
import { encodeOnnxModel, ONNX_FLOAT } from '../src/serving/test-support/onnx-builder.js';
import type { LoadResult } from './support/autocannon.js';
import { log } from './support/log.js';
import { measureLoad } from './support/measure-load.js';
import { printResult, runBench } from './support/print-result.js';
import { REPO_ROOT } from './support/repo-root.js';
import { startCapstanServer, startProcess } from './support/start-process.js';
import { stopProcess } from './support/stop-process.js';

const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const METRIC_POINTS = Number(process.env.BENCH_METRIC_POINTS ?? 50_000);

/** The interpreter with numpy and scikit-learn: BENCH_PYTHON, the python3 on PATH, or Debian's. */
function sklearnPython(): string {
  for (const python of [process.env.BENCH_PYTHON, 'python3', '/usr/bin/python3']) {
    if (python && spawnSync(python, ['-c', 'import numpy, sklearn']).status === 0) return python;
  }
  throw new Error('no python3 with numpy and scikit-learn (Debian: apt-get install python3-sklearn)');
}

/** The logistic regression as ONNX: probability = sigmoid(x · coef + intercept), x float32 [N, 100]. */
function onnxPackage(dir: string, coef: number[], intercept: number): void {
  mkdirSync(dir, { recursive: true });
  const model = encodeOnnxModel({
    name: 'bench-logreg',
    nodes: [
      { op: 'MatMul', inputs: ['x', 'coef'], outputs: ['z0'] },
      { op: 'Add', inputs: ['z0', 'intercept'], outputs: ['z'] },
      { op: 'Sigmoid', inputs: ['z'], outputs: ['probability'] },
    ],
    inputs: [{ name: 'x', type: ONNX_FLOAT, shape: ['n', coef.length] }],
    outputs: [{ name: 'probability', type: ONNX_FLOAT, shape: ['n', 1] }],
    initializers: [
      { name: 'coef', dims: [coef.length, 1], data: Float32Array.from(coef) },
      { name: 'intercept', dims: [1], data: Float32Array.from([intercept]) },
    ],
  });
  writeFileSync(path.join(dir, 'model.onnx'), model);
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name: 'bench-logreg-onnx', framework: 'onnx', entry: 'model.onnx', signature: { inputs: [{ name: 'x', dtype: 'float32', shape: [-1, coef.length] }], outputs: [{ name: 'probability', dtype: 'float32' }] } }));
}

/** Checks one answer, then a warm-up and a measured run with BENCH_CONNECTIONS. */
async function measure(name: string, url: string, body: string): Promise<LoadResult> {
  const check = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (!check.ok) throw new Error(`${name} answered ${check.status}: ${await check.text()}`);
  return measureLoad(name, url, { connections: CONNECTIONS, seconds: DURATION_S, warmupSeconds: WARMUP_S, body });
}

async function main(): Promise<void> {
  const python = sklearnPython();
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-bench-python-'));
  const children: ChildProcess[] = [];
  try {
    const pyPkg = path.join(home, 'python-package');
    log(`training the scikit-learn model with ${python} …`);
    const trained = spawnSync(python, [path.join(REPO_ROOT, 'bench/python/train_model.py'), pyPkg], { encoding: 'utf8' });
    if (trained.status !== 0) throw new Error(`train_model.py failed: ${trained.stderr}`);
    const coefficients = JSON.parse(readFileSync(path.join(pyPkg, 'coefficients.json'), 'utf8')) as { coef: number[]; intercept: number; row: number[]; probability: number };
    rmSync(path.join(pyPkg, 'coefficients.json'));
    const onnxPkg = path.join(home, 'onnx-package');
    onnxPackage(onnxPkg, coefficients.coef, coefficients.intercept);

    const config = compileConfig({ flags: { home }, env: {}, cwd: home });
    const platform = await openPlatform({ config, logger: silentLogger() });
    const coldStarts: number[] = [];
    try {
      const registry = platform.registry!;
      for (const [name, dir] of [['logreg', pyPkg], ['logreg-onnx', onnxPkg]] as const) {
        const v = await registry.registerVersion(name, { packageDir: dir });
        await registry.setApproval(name, v.version, { status: 'Approved', comment: 'benchmark' });
      }
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const ep = await platform.serving.create(`cold-${i}`, { variants: [{ model: 'models:/logreg/1', interpreter: python }] });
        coldStarts.push(performance.now() - started);
        if (ep.status !== 'InService') throw new Error(`endpoint failed: ${ep.statusReason}`);
        await platform.serving.delete(`cold-${i}`);
      }
      log(`cold starts (create a one-process python endpoint): ${coldStarts.map((ms) => ms.toFixed(0)).join(', ')} ms`);
      const batching = { maxBatchSize: 64, maxDelayMs: 0 };
      for (const [name, variant] of [['py', { model: 'models:/logreg/1', interpreter: python }], ['onnx', { model: 'models:/logreg-onnx/1' }]] as const) {
        const ep = await platform.serving.create(name, { variants: [{ ...variant, instances: 2, batching }] });
        if (ep.status !== 'InService') throw new Error(`endpoint ${name} failed: ${ep.statusReason}`);
      }
    } finally {
      await platform.close();
    }

    const body = JSON.stringify({ instances: [coefficients.row] });
    log('starting capstan server …');
    const capstan = await startCapstanServer({ CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'warn' });
    children.push(capstan.child);
    const answer = (await (await fetch(`${capstan.url}/endpoints/py/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json()) as { probability: number[] };
    const onnxAnswer = (await (await fetch(`${capstan.url}/endpoints/onnx/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json()) as { outputs: { probability: number[] | number[][] } };
    const onnxP = Number(onnxAnswer.outputs.probability.flat()[0]);
    log(`same row: python ${answer.probability[0]}, onnx ${onnxP}, scikit-learn in training ${coefficients.probability}`);
    if (Math.abs(onnxP - coefficients.probability) > 1e-4 || Math.abs(answer.probability[0] - coefficients.probability) > 1e-9) throw new Error('the served models disagree with scikit-learn');

    const py = await measure('capstan, python inference.py, 2 workers', `${capstan.url}/endpoints/py/invocations`, body);
    const onnx = await measure('capstan, same model as ONNX, 2 workers', `${capstan.url}/endpoints/onnx/invocations`, body);

    log(`python client: logging ${METRIC_POINTS} metric points …`);
    const client = spawnSync(python, [path.join(REPO_ROOT, 'bench/python/log_metrics.py'), String(METRIC_POINTS)], { encoding: 'utf8', env: { ...process.env, CAPSTAN_URL: capstan.url, PYTHONPATH: path.join(REPO_ROOT, 'clients/python') } });
    // spawnSync blocks only this process; the server runs in its own.
    if (client.status !== 0) throw new Error(`log_metrics.py failed: ${client.stderr}`);
    const logged = JSON.parse(client.stdout.trim().split('\n').pop()!) as { per_s: number; seconds: number };
    log(`python client: ${METRIC_POINTS} points in ${logged.seconds.toFixed(2)} s = ${logged.per_s.toFixed(0)} points/s`);
    await stopProcess(capstan.child);

    const baseline = await startProcess(python, [path.join(REPO_ROOT, 'bench/python/baseline_server.py'), pyPkg]);
    children.push(baseline.child);
    await measure('baseline: the same model behind Python ThreadingHTTPServer (1 process)', baseline.url, body);
    await stopProcess(baseline.child);

    const sorted = [...coldStarts].sort((a, b) => a - b);
    const result = {
      req_per_s: Math.round(py.reqPerSec),
      p99_ms: py.p99,
      onnx_req_per_s: Math.round(onnx.reqPerSec),
      cold_start_ms: Math.round(sorted[1]),
      client_log_metrics_per_s: Math.round(logged.per_s),
    };
    if (py.errors + py.non2xx + onnx.errors + onnx.non2xx > 0) log(`errors: python ${py.errors + py.non2xx}, onnx ${onnx.errors + onnx.non2xx}`);
    printResult(result);
  } finally {
    await Promise.all(children.map((c) => stopProcess(c)));
    rmSync(home, { recursive: true, force: true });
  }
}

runBench(main);
