// npm run bench:console — the console in headless Chromium: a 200-step pipeline graph from navigation
// start to every node drawn, the gzip size of the bundle, a 10,000-point step metric series cut on the
// server, and the experiment pages over BENCH_RUNS runs (default 1,000) of BENCH_POINTS loss points each
// (default 10,000): the runs table sorted by a metric (navigation start to its first rows drawn) and the
// comparison of 100 runs (navigation start to every chart and the parallel coordinates drawn).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { openTestPlatform } from '../src/platform/test-support/test-platform.js';
import { CONSOLE_DIST } from '../src/server/console/console-static.js';
import { startServer } from '../src/server/server.js';
import { ensureConsoleBuilt, launchChromium } from '../test/support/console-browser.js';
import { seedRuns } from '../test/support/seed-runs.js';

const STEPS = 200;
const POINTS = 10_000;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const RUNS = Number(process.env.BENCH_RUNS ?? 1000);
const POINTS_PER_RUN = Number(process.env.BENCH_POINTS ?? 10_000);
const COMPARED = Math.min(100, RUNS);

ensureConsoleBuilt();
const jsBytes = readdirSync(path.join(CONSOLE_DIST, 'assets'))
  .filter((f) => f.endsWith('.js') || f.endsWith('.css'))
  .reduce((sum, f) => sum + gzipSync(readFileSync(path.join(CONSOLE_DIST, 'assets', f)), { level: 9 }).length, 0);

const t = await openTestPlatform();
const steps = Array.from({ length: STEPS }, (_, i) => `  - name: s${i}\n    type: processing\n    command: [sh, -c, 'true']${i === 0 ? '' : `\n    depends_on: [s${i < 10 ? 0 : Math.floor(i / 10)}]`}`).join('\n');
await t.platform.pipelines.apply(parsePipelineYaml(`name: wide\nsteps:\n${steps}\n`, 'wide.yaml', t.home));
// Queued without background services: the graph of a queued execution has every node to draw.
const exec = await t.platform.pipelines.start('wide', { trigger: { type: 'manual', by: 'bench' } });
const metric = `name: curve\nsteps:\n  - name: train\n    type: processing\n    metric_definitions: [{ name: loss, regex: "loss=([0-9.]+);" }]\n    command: [sh, -c, 'i=0; while [ $i -lt ${POINTS} ]; do echo "loss=0.$i;"; i=$((i+1)); done']\n`;
await t.platform.pipelines.apply(parsePipelineYaml(metric, 'curve.yaml', t.home));
const curve = await t.platform.pipelines.start('curve', { trigger: { type: 'manual', by: 'bench' } });
await t.platform.pipelines.wait(curve.id);
// Through the registry's batch API (10,000 points per call, one transaction each), as a training job would log them.
const seedStart = performance.now();
const { ids } = await seedRuns(t.platform.registry, { experiment: 'bench', runs: RUNS, pointsPerRun: POINTS_PER_RUN });
const seedMs = performance.now() - seedStart;
const server = await startServer(t.platform, { port: 0, logRequests: false });
const browser = await launchChromium();

// Baseline in the same run: the health probe's round trip from the same page.
const graphMs: number[] = [];
const baselineMs: number[] = [];
const seriesMs: number[] = [];
for (let i = 0; i < REPEATS; i++) {
  const page = await browser.newPage();
  await page.goto(`${server.url}/console/pipelines/wide/executions/${exec.id}`);
  // A function, not a string: the console's CSP forbids eval, and a string predicate would be one.
  await page.waitForFunction((n) => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('.react-flow__node').length === n, STEPS, { timeout: 60_000 });
  graphMs.push(await page.evaluate(() => performance.now()));
  baselineMs.push(await page.evaluate(async () => { const s = performance.now(); await fetch('/healthz'); return performance.now() - s; }));
  seriesMs.push(await page.evaluate(async (id) => { const s = performance.now(); const r = (await (await fetch(`/api/v1/pipeline-executions/${id}/steps/train/metric-series?points=400`)).json()) as { series: { total: number }[] }; if (r.series[0].total < 10000) throw new Error('short series'); return performance.now() - s; }, curve.id));
  await page.close();
}

type Doc = { document: { querySelector(s: string): unknown; querySelectorAll(s: string): { length: number } } };
const runsMs: number[] = [];
const compareMs: number[] = [];
const compareUrl = `${server.url}/console/compare?runs=${ids.slice(0, COMPARED).join(',')}`;
for (let i = 0; i < REPEATS; i++) {
  const page = await browser.newPage();
  await page.goto(`${server.url}/console/runs?experiment=bench&sort=metric%3Aaccuracy`);
  await page.waitForFunction(() => (globalThis as unknown as Doc).document.querySelectorAll('[data-testid="run-row"]').length > 0, undefined, { timeout: 120_000 });
  runsMs.push(await page.evaluate(() => performance.now()));
  await page.goto(compareUrl);
  await page.waitForFunction(
    (n) => {
      const d = (globalThis as unknown as Doc).document;
      return d.querySelector('[data-testid="compare-charts"][data-drawn="true"]') !== null && d.querySelectorAll('[data-testid="parallel-coordinates"] polyline').length === n;
    },
    COMPARED,
    { timeout: 120_000 },
  );
  compareMs.push(await page.evaluate(() => performance.now()));
  await page.close();
}
await browser.close();
await server.shutdown();
await t.dispose();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`medians: graph ${Math.round(median(graphMs))} ms, healthz ${median(baselineMs).toFixed(1)} ms, series ${Math.round(median(seriesMs))} ms`);
console.log(`pipeline graph (${STEPS} steps) ms: ${graphMs.map(Math.round).join(' ')}; /healthz baseline ms: ${baselineMs.map((x) => x.toFixed(1)).join(' ')}; ${POINTS}-point series to 400 points ms: ${seriesMs.map(Math.round).join(' ')}`);
console.log(`seeded ${RUNS} runs × ${POINTS_PER_RUN} points in ${Math.round(seedMs)} ms; runs page ms: ${runsMs.map(Math.round).join(' ')}; compare ${COMPARED} runs ms: ${compareMs.map(Math.round).join(' ')}`);
console.log(JSON.stringify({ runs: RUNS, points_per_run: POINTS_PER_RUN, runs_page_ms: Math.round(median(runsMs)), compare_page_ms: Math.round(median(compareMs)), pipeline_graph_ms: Math.round(median(graphMs)), js_kb: Math.round(jsBytes / 1024) }));
