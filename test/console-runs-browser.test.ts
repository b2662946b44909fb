import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';
import { artifactsDir, browserSkipReason, ensureConsoleBuilt, launchChromium, signInAs } from './support/console-browser.js';
import { seedRuns } from './support/seed-runs.js';

const RUNS = 1000;

/** The part of a scrolling element the test moves (the root tsconfig has no DOM types). */
type Scrollable = { scrollTop: number; scrollHeight: number };
const XSS = '<img src=x onerror="window.__xss=1">';

// The console's experiment pages in a real browser: the runs table, the comparison view and the audit log.
describe('console runs, comparison and audit in Chromium', { skip: browserSkipReason() }, () => {
  let t: TestPlatform;
  let server: RunningServer;
  let browser: Browser;
  let base: string;
  let ids: string[];
  const keys = new Map<string, string>();
  const shots = artifactsDir();

  before(async () => {
    ensureConsoleBuilt();
    t = await openTestPlatform({ 'server.auth': true });
    for (const role of ['approver', 'viewer']) keys.set(role, (await t.platform.apiKeys.create(`console-${role}`, role)).key);
    ({ ids } = await seedRuns(t.platform.registry, { experiment: 'sweep', runs: RUNS, pointsPerRun: 20 }));
    await t.platform.registry.createRun({ experiment: 'other', name: XSS, params: { lr: 0.5 } });
    await t.platform.registry.registerVersion('ranker', { packageDir: writeNcfPackage(path.join(t.home, 'pkg'), { users: 10, items: 20, seed: 1 }).dir, metrics: { 'hr@10': 0.6 } });
    server = await startServer(t.platform, { port: 0, logRequests: false });
    base = server.url;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.shutdown();
    await t?.dispose();
  });

  const signedIn = (role: string) => signInAs(browser, base, keys.get(role)!);

  const rowCount = (page: Page) => page.getByTestId('run-row').count();

  it('pages 1,000 runs from the server into a virtualized table: only a window of rows is in the DOM, also after scrolling to the end', async () => {
    const { context, page } = await signedIn('viewer');
    const asked: string[] = [];
    page.on('request', (r) => r.url().includes('/api/v1/runs/search') && asked.push(r.url()));
    await page.goto(`${base}/console/experiments/sweep`);
    await page.getByTestId('runs-total').filter({ hasText: `${RUNS} runs` }).waitFor();
    await page.getByTestId('run-row').first().waitFor();
    const initial = await rowCount(page);
    assert.ok(initial > 5 && initial < 60, `rows in the DOM: ${initial}`);
    assert.equal(await page.locator('[data-testid="run-row"] >> nth=0').getAttribute('data-run'), ids[ids.length - 1], 'newest first');
    await page.getByTestId('runs-scroll').evaluate((el) => {
      const box = el as unknown as Scrollable;
      box.scrollTop = box.scrollHeight;
    });
    await page.locator(`[data-testid="run-row"][data-run="${ids[0]}"]`).waitFor();
    const afterScroll = await rowCount(page);
    assert.ok(afterScroll > 5 && afterScroll < 60, `rows in the DOM after scrolling: ${afterScroll}`);
    assert.ok(asked.some((u) => u.includes('offset=900')), 'the last page came from the server');
    assert.ok(asked.length <= 4, `pages fetched: ${asked.length}`);
    await page.screenshot({ path: path.join(shots, 'runs-scrolled.png') });

    // Sorted on the server by the latest accuracy, highest first.
    await page.getByTestId('runs-scroll').evaluate((el) => {
      (el as unknown as Scrollable).scrollTop = 0;
    });
    await page.getByTestId('sort-metric:accuracy').click();
    await page.locator('[data-testid="run-row"] >> nth=0 >> [data-metric="accuracy"]').filter({ hasText: /^0\.9990$/ }).waitFor();
    await page.getByTestId('filter-status').selectOption('failed');
    await page.getByTestId('runs-total').filter({ hasText: `${RUNS / 5} runs` }).waitFor();
    await page.getByTestId('filter-name').fill('run-004');
    await page.getByTestId('runs-total').filter({ hasText: '2 runs' }).waitFor();
    assert.match(new URL(page.url()).search, /status=failed&name=run-004&sort=metric%3Aaccuracy/);
    await context.close();
  });

  it('compares 3 runs picked in the table: overlaid charts, a table with differences marked, parallel coordinates', async () => {
    const { context, page } = await signedIn('viewer');
    await page.goto(`${base}/console/runs?experiment=sweep`);
    for (const n of [0, 1, 2]) await page.getByTestId('select-run').nth(n).check();
    await page.getByTestId('compare-selected').click();
    await page.locator('[data-testid="compare-charts"][data-drawn="true"]').waitFor();
    const picked = decodeURIComponent(new URL(page.url()).search.replace('?runs=', '')).split(',');
    assert.deepEqual(picked, [ids[999], ids[998], ids[997]]);
    assert.equal(await page.getByTestId('compare-title').textContent(), 'Comparing 3 runs');
    const loss = page.getByTestId('run-chart-loss');
    assert.equal(await loss.locator('polyline').count(), 3);
    assert.equal((await loss.locator(`polyline[data-run="${ids[999]}"]`).getAttribute('points'))?.trim().split(' ').length, 20);
    assert.equal(await page.getByTestId('run-chart-accuracy').locator('polyline').count(), 3);
    const table = page.getByTestId('compare-table');
    assert.equal(await table.locator('thead th').count(), 4);
    assert.equal(await page.getByTestId('compare-row-param-lr').getAttribute('data-differs'), 'true');
    assert.equal(await page.getByTestId('compare-row-param-lr').getAttribute('class'), 'differs');
    await page.getByTestId('only-differences').check();
    assert.ok((await table.locator('tbody tr').count()) >= 4);
    const pc = page.getByTestId('parallel-coordinates');
    assert.equal(await pc.locator('polyline').count(), 3);
    assert.deepEqual(await pc.getByTestId('pc-axis').evaluateAll((els) => els.map((e) => (e as unknown as { getAttribute(n: string): string | null }).getAttribute('data-axis'))), ['layers', 'lr', 'optimizer', 'seed', 'accuracy']);
    // Each run's line crosses every axis.
    assert.equal((await pc.locator(`polyline[data-run="${ids[998]}"]`).getAttribute('points'))?.trim().split(' ').length, 5);
    await page.screenshot({ path: path.join(shots, 'compare.png'), fullPage: true });
    await context.close();
  });

  it('lists in the audit view an approval just made in the console, with who and the comment', async () => {
    const { context, page } = await signedIn('approver');
    await page.goto(`${base}/console/models/ranker`);
    await page.getByTestId('version-1').getByTestId('approval-comment').fill('ok from the console');
    await page.getByTestId('version-1').getByTestId('approve').click();
    await page.getByTestId('version-1').getByTestId('approval').filter({ hasText: /^Approved$/ }).waitFor();
    await page.getByRole('link', { name: 'Audit' }).click();
    const first = page.getByTestId('audit-event').first();
    await first.waitFor();
    assert.equal(await first.getByTestId('audit-who').textContent(), 'key:console-approver');
    assert.equal(await first.getByTestId('audit-what').textContent(), 'approval.changed');
    assert.equal(await first.getByTestId('audit-comment').textContent(), 'ok from the console');
    await page.getByTestId('audit-action').selectOption('version.created');
    await page.getByTestId('audit-apply').click();
    await page.getByTestId('audit-what').filter({ hasText: 'version.created' }).waitFor();
    assert.equal(await page.getByTestId('audit-event').count(), 1);
    await page.screenshot({ path: path.join(shots, 'audit.png') });
    await context.close();
  });

  it('renders a run name with HTML as text and shows the not-found view for missing runs and experiments', async () => {
    const { context, page } = await signedIn('viewer');
    await page.goto(`${base}/console/experiments/other`);
    await page.getByTestId('run-row').filter({ hasText: XSS }).waitFor();
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.evaluate('window.__xss'), undefined);
    for (const link of ['/console/runs/run_nope', '/console/experiments/nope', `/console/compare?runs=${ids[0]},run_nope`]) {
      await page.goto(`${base}${link}`);
      await page.getByTestId('not-found').waitFor();
    }
    await page.goto(`${base}/console/runs/${ids[5]}`);
    await page.getByTestId('compare-title').filter({ hasText: 'Run run-0005' }).waitFor();
    await page.locator('[data-testid="compare-charts"][data-drawn="true"]').waitFor();
    await context.close();
  });
});
