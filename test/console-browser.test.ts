import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { openServingTestPlatform, type ServingTestPlatform } from '../src/serving/test-support/serving-test-platform.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';
import { artifactsDir, browserSkipReason, ensureConsoleBuilt, launchChromium, signInAs } from './support/console-browser.js';

const XSS = '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>';

// The console in a real browser (Debian's Chromium through playwright-core) against a server with auth on.
describe('web console in Chromium', { skip: browserSkipReason() }, () => {
  let t: ServingTestPlatform;
  let server: RunningServer;
  let browser: Browser;
  let base: string;
  let flag: string;
  const keys = new Map<string, string>();
  const shots = artifactsDir();

  before(async () => {
    ensureConsoleBuilt();
    t = await openServingTestPlatform({ 'server.auth': true });
    for (const role of ['admin', 'editor', 'approver', 'viewer']) keys.set(role, (await t.platform.apiKeys.create(`console-${role}`, role)).key);
    flag = path.join(t.scratch, 'go');
    await t.platform.pipelines.apply(
      parsePipelineYaml(
        `name: live
description: trains while the test watches
steps:
  - name: prepare
    type: processing
    command: [sh, -c, 'echo prepared']
  - name: train
    type: training
    depends_on: [prepare]
    metric_definitions: [{ name: loss, regex: "loss=([0-9.]+);" }]
    command: [sh, -c, 'echo "loss=0.9;"; echo "loss=0.5;"; while [ ! -f ${flag} ]; do sleep 0.05; done; echo "loss=0.2;"; echo m > "$CAPSTAN_MODEL_DIR/m"']
`,
        'live.yaml',
        t.scratch,
      ),
    );
    await t.registerNcf('ncf', { users: 10, items: 20, seed: 1 });
    await t.registerNcf('ncf', { users: 10, items: 20, seed: 2 });
    await t.registerNcf('ncf', { users: 10, items: 20, seed: 3, approve: false });
    await t.registry.registerVersion('xss', { packageDir: writeNcfPackage(path.join(t.scratch, 'xss'), { users: 10, items: 20, seed: 4 }).dir, description: XSS, metrics: { 'hr@10': 0.61 } });
    await t.registry.updateModel('xss', { description: XSS });
    const ep = await t.platform.serving.create('ab', { variants: [{ name: 'blue', model: 'models:/ncf/1', weight: 50 }, { name: 'green', model: 'models:/ncf/2', weight: 50 }] });
    assert.equal(ep.status, 'InService');
    server = await startServer(t.platform, { port: 0, background: true, logRequests: false });
    base = server.url;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.shutdown();
    await t?.dispose();
  });

  const signedIn = (role: string) => signInAs(browser, base, keys.get(role)!);

  it('redirects / to the sign-in page, refuses a wrong key, and keeps the key out of page-readable storage', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/`);
    assert.equal(new URL(page.url()).pathname, '/console/');
    await page.getByTestId('api-key').fill('cap_not-a-key');
    await page.getByTestId('sign-in-submit').click();
    await page.getByRole('alert').waitFor();
    await page.getByTestId('api-key').fill(keys.get('admin')!);
    await page.getByTestId('sign-in-submit').click();
    assert.equal(await page.getByTestId('who').textContent(), 'console-admin (admin)');
    // Runs in the page: the browser's storages as one string.
    const stored = await page.evaluate('JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie })');
    assert.ok(!String(stored).includes(keys.get('admin')!), 'the key is in no browser storage');
    assert.ok(!String(stored).includes('capstan_session'), 'the session cookie is HttpOnly');
    const [cookie] = await context.cookies();
    assert.equal(cookie.name, 'capstan_session');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    await page.screenshot({ path: path.join(shots, 'signed-in.png') });
    await context.close();
  });

  it('runs a pipeline and watches it to success on the graph, then reads the step\'s loss chart', async () => {
    const { context, page } = await signedIn('editor');
    await page.goto(`${base}/console/pipelines/live`);
    await page.getByTestId('run-pipeline').click();
    await page.getByTestId('graph').waitFor();
    const train = page.locator('.react-flow__node[data-id="train"]');
    await train.filter({ hasText: 'running' }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(shots, 'pipeline-running.png') });
    writeFileSync(flag, '');
    // No reload: the states arrive over Server-Sent Events.
    await train.filter({ hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('execution-state').filter({ hasText: 'succeeded' }).waitFor();
    assert.match((await page.locator('.react-flow__node[data-id="prepare"]').textContent()) ?? '', /succeeded/);
    await page.screenshot({ path: path.join(shots, 'pipeline-succeeded.png') });

    await train.click();
    const chart = page.getByTestId('chart-loss');
    await chart.waitFor();
    assert.equal(await chart.getByTestId('legend-item').textContent(), 'loss: 0.2000');
    const execId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    const series = await page.evaluate(async (url) => (await fetch(url)).json(), `/api/v1/pipeline-executions/${execId}/steps/train/metric-series`);
    const points = await chart.locator('polyline').getAttribute('points');
    assert.deepEqual((series as { series: { points: unknown[] }[] }).series[0].points, [[0, 0.9], [1, 0.5], [2, 0.2]]);
    assert.equal(points?.trim().split(' ').length, 3);
    await page.getByTestId('logs').filter({ hasText: 'loss=0.5;' }).waitFor();
    await page.getByTestId('log-search').fill('0.9');
    const found = ((await page.getByTestId('logs').textContent()) ?? '').split('\n');
    assert.ok(found.includes('loss=0.9;') && !found.includes('loss=0.5;'), found.join('|'));
    await page.screenshot({ path: path.join(shots, 'step-chart.png') });
    await context.close();
  });

  it('lets an approver approve a version with a comment', async () => {
    const { context, page } = await signedIn('approver');
    await page.goto(`${base}/console/models/ncf`);
    const v3 = page.getByTestId('version-3');
    assert.equal(await v3.getByTestId('approval').textContent(), 'PendingManualApproval');
    await v3.getByTestId('approval-comment').fill('looks good in the console');
    await v3.getByTestId('approve').click();
    await v3.getByTestId('approval').filter({ hasText: /^Approved$/ }).waitFor();
    assert.equal((await t.registry.getVersion('ncf', 3)).approval, 'Approved');
    const history = await t.registry.history('ncf');
    assert.ok(JSON.stringify(history).includes('looks good in the console'), 'the comment is in the audit history');
    await page.screenshot({ path: path.join(shots, 'approved.png') });
    await context.close();
  });

  it('shows a viewer no approve, run or weight controls, and the server refuses them anyway', async () => {
    const { context, page } = await signedIn('viewer');
    await page.goto(`${base}/console/models/ncf`);
    await page.getByTestId('version-1').waitFor();
    assert.equal(await page.getByTestId('approve').count(), 0);
    await page.goto(`${base}/console/pipelines/live`);
    await page.getByTestId('pipeline-name').waitFor();
    assert.equal(await page.getByTestId('run-pipeline').count(), 0);
    await page.goto(`${base}/console/endpoints/ab`);
    await page.getByTestId('variants').waitFor();
    assert.equal(await page.getByTestId('save-weights').count(), 0);
    const csrf = await page.evaluate(async () => ((await (await fetch('/console/session')).json()) as { csrfToken: string }).csrfToken);
    const answer = await page.evaluate(async (token) => {
      const res = await fetch('/api/v1/models/ncf/versions/1/approval', { method: 'PUT', headers: { 'content-type': 'application/json', 'x-capstan-csrf': token }, body: JSON.stringify({ status: 'Rejected' }) });
      return { status: res.status, code: ((await res.json()) as { code: string }).code };
    }, csrf);
    assert.deepEqual(answer, { status: 403, code: 'CAPSTAN_AUTH_FORBIDDEN' });
    assert.equal((await t.registry.getVersion('ncf', 1)).approval, 'Approved');
    await page.screenshot({ path: path.join(shots, 'viewer.png') });
    await context.close();
  });

  it('renders HTML in a model description as text', async () => {
    const { context, page } = await signedIn('viewer');
    await page.goto(`${base}/console/models/xss`);
    assert.equal(await page.getByTestId('model-description').textContent(), XSS);
    assert.equal(await page.getByTestId('version-description').textContent(), XSS);
    await page.goto(`${base}/console/models`);
    await page.getByTestId('models').filter({ hasText: 'xss' }).waitFor();
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.evaluate('window.__xss'), undefined);
    await context.close();
  });

  it('shifts a variant weight as an editor; a PATCH without the CSRF token gets 403 and changes nothing', async () => {
    const { context, page } = await signedIn('editor');
    await page.goto(`${base}/console/endpoints/ab`);
    await page.getByTestId('weight-blue').fill('90');
    await page.getByTestId('weight-green').fill('10');
    await page.getByTestId('save-weights').click();
    await page.getByTestId('weights-saved').waitFor();
    const weights = () => t.platform.serving.describe('ab').then((e) => Object.fromEntries(e.variants.map((v) => [v.name, v.weight])));
    assert.deepEqual(await weights(), { blue: 90, green: 10 });
    await page.getByTestId('chart-requests').waitFor();
    await page.screenshot({ path: path.join(shots, 'endpoint.png') });

    const answer = await page.evaluate(async () => {
      const res = await fetch('/api/v1/endpoints/ab', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ weights: { blue: 0, green: 100 } }) });
      return { status: res.status, code: ((await res.json()) as { code: string }).code };
    });
    assert.deepEqual(answer, { status: 403, code: 'CAPSTAN_CONSOLE_CSRF_REQUIRED' });
    assert.deepEqual(await weights(), { blue: 90, green: 10 });
    await context.close();
  });

  it('shows a not-found view for deep links to missing objects', async () => {
    const { context, page } = await signedIn('viewer');
    for (const link of ['/console/models/nope', '/console/pipelines/nope', '/console/pipelines/live/executions/nope', '/console/endpoints/nope', '/console/decisions/nope', '/console/no/such/page']) {
      await page.goto(`${base}${link}`);
      await page.getByTestId('not-found').waitFor();
    }
    await page.screenshot({ path: path.join(shots, 'not-found.png') });
    await context.close();
  });

  it('lists feature groups and decision use cases (empty here) without errors', async () => {
    const { context, page } = await signedIn('viewer');
    await page.goto(`${base}/console/features`);
    await page.getByTestId('feature-groups').waitFor();
    await page.goto(`${base}/console/decisions`);
    await page.getByTestId('usecases').waitFor();
    await page.getByTestId('decision-records').waitFor();
    assert.equal(await page.getByRole('alert').count(), 0);
    await context.close();
  });

  it('signs out: the session is revoked on the server and the page shows the sign-in form without data', async () => {
    const { context, page } = await signedIn('viewer');
    const [cookie] = await context.cookies();
    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in').waitFor();
    const res = await fetch(`${base}/api/v1/models`, { headers: { cookie: `capstan_session=${cookie.value}` } });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: string }).code, 'CAPSTAN_CONSOLE_SESSION_INVALID');
    // A page holding a revoked session lands on the sign-in form, not on data.
    await context.addCookies([cookie]);
    await page.goto(`${base}/console/models`);
    await page.getByTestId('sign-in').waitFor();
    assert.equal(await page.getByTestId('models').count(), 0);
    await context.close();
  });
});
