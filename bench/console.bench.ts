// npm run bench:console — the console in headless Chromium: a 200-step pipeline graph from navigation
// start to every node drawn, the gzip size of the bundle, and a 10,000-point step metric series cut on
// the server. The runs and comparison pages of issue 17 are not built yet: their keys print null.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { openTestPlatform } from '../src/platform/test-support/test-platform.js';
import { CONSOLE_DIST } from '../src/server/console/console-static.js';
import { startServer } from '../src/server/server.js';
import { ensureConsoleBuilt, launchChromium } from '../test/support/console-browser.js';

const STEPS = 200;
const POINTS = 10_000;
const REPEATS = 5;

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
await browser.close();
await server.shutdown();
await t.dispose();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`medians: graph ${Math.round(median(graphMs))} ms, healthz ${median(baselineMs).toFixed(1)} ms, series ${Math.round(median(seriesMs))} ms`);
console.log(`pipeline graph (${STEPS} steps) ms: ${graphMs.map(Math.round).join(' ')}; /healthz baseline ms: ${baselineMs.map((x) => x.toFixed(1)).join(' ')}; ${POINTS}-point series to 400 points ms: ${seriesMs.map(Math.round).join(' ')}`);
console.log(JSON.stringify({ runs: null, points_per_run: POINTS, runs_page_ms: null, compare_page_ms: null, pipeline_graph_ms: Math.round(median(graphMs)), js_kb: Math.round(jsBytes / 1024) }));
