import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startServer, type RunningServer } from '../src/server/server.js';
import { openServingTestPlatform, type ServingTestPlatform } from '../src/serving/test-support/serving-test-platform.js';
import { artifactsDir, browserSkipReason, ensureConsoleBuilt, launchChromium, signInAs } from './support/console-browser.js';
import { DEFINITIONS } from './features/feature-fixtures.js';

const JDM_USECASE = {
  name: 'risk-graph',
  description: 'a JDM graph over one CEL task',
  input: { schema: { type: 'object', required: ['customer', 'amount'], properties: { customer: { type: 'string' }, amount: { type: 'number' } } }, subject: 'input.customer' },
  thresholds: { review: 0.5 },
  tasks: [{ name: 'risk', type: 'cel', expression: 'input.amount / 100.0' }],
  rules: {
    engine: 'jdm',
    graph: {
      nodes: [
        { id: 'in', type: 'inputNode', name: 'Input', position: { x: 0, y: 0 } },
        {
          id: 'table',
          type: 'decisionTableNode',
          name: 'Risk table',
          position: { x: 220, y: 0 },
          content: {
            hitPolicy: 'first',
            inputs: [{ id: 'risk', name: 'Risk', field: 'tasks.risk' }],
            outputs: [
              { id: 'outcome', name: 'Outcome', field: 'outcome' },
              { id: 'reasons', name: 'Reasons', field: 'reasons' },
            ],
            rules: [
              { _id: 'r1', risk: '>= thresholds.review', outcome: '"review"', reasons: '["risky"]' },
              { _id: 'r2', risk: '', outcome: '"approve"', reasons: '[]' },
            ],
          },
        },
        { id: 'unused', type: 'expressionNode', name: 'Unused', position: { x: 220, y: 120 }, content: { expressions: [{ id: 'x', key: 'x', value: '1' }] } },
        { id: 'out', type: 'outputNode', name: 'Output', position: { x: 440, y: 0 } },
      ],
      edges: [
        { id: 'e1', sourceId: 'in', targetId: 'table', type: 'edge' },
        { id: 'e2', sourceId: 'table', targetId: 'out', type: 'edge' },
      ],
    },
  },
};

// The operations views in a real browser: endpoints (try it, rollouts, data capture), features, decisions.
describe('console operations views in Chromium', { skip: browserSkipReason() }, () => {
  let t: ServingTestPlatform;
  let server: RunningServer;
  let browser: Browser;
  let base: string;
  const keys = new Map<string, string>();
  const shots = artifactsDir();

  async function call(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${base}${url}`, { method, headers: { authorization: `Bearer ${keys.get('admin')}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: await res.json().catch(() => null) };
  }

  before(async () => {
    ensureConsoleBuilt();
    t = await openServingTestPlatform({ 'server.auth': true });
    for (const role of ['admin', 'editor', 'viewer']) keys.set(role, (await t.platform.apiKeys.create(`ops-${role}`, role)).key);
    await t.registerNcf('ncf', { users: 10, items: 20, seed: 1 });
    await t.registerNcf('ncf', { users: 10, items: 20, seed: 2 });
    await t.platform.serving.create('live', { variants: [{ name: 'primary', model: 'models:/ncf/1', weight: 1 }], dataCapture: { enabled: true, samplingPercent: 100, rotateMs: 100 } });
    await t.platform.serving.create('roll', { variants: [{ name: 'blue', model: 'models:/ncf/1', weight: 1 }] });
    await t.platform.serving.create('alarmed', { variants: [{ name: 'blue', model: 'models:/ncf/1', weight: 1 }] });
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

  it('try it invokes a live endpoint through the session and shows status, variant and the answer; a viewer gets no form', async () => {
    // An editor may read the endpoint and invoke it; a bare invoker key cannot read the console's pages.
    const { context, page } = await signedIn('editor');
    await page.goto(`${base}/console/endpoints/live`);
    await page.getByTestId('try-body').fill('{"user": 1003, "items": [5001, 5002, 5003]}');
    await page.getByTestId('try-send').click();
    await page.getByTestId('try-result').waitFor();
    assert.equal(await page.getByTestId('try-status').textContent(), '200');
    assert.equal(await page.getByTestId('try-invoked').textContent(), 'primary');
    const answer = (await page.getByTestId('try-response').textContent()) ?? '';
    assert.doesNotThrow(() => JSON.parse(answer), answer);
    assert.match(await page.getByTestId('try-latency').textContent() ?? '', /^\d+ ms$/);
    await page.screenshot({ path: path.join(shots, 'try-it.png') });
    await context.close();
    const viewer = await signedIn('viewer');
    await viewer.page.goto(`${base}/console/endpoints/live`);
    await viewer.page.getByTestId('variants').waitFor();
    assert.equal(await viewer.page.getByTestId('try-it').count(), 0);
    await viewer.context.close();
  });

  it('shows a captured request/response pair after an invocation with capture on', async () => {
    const res = await fetch(`${base}/endpoints/live/invocations`, { method: 'POST', headers: { authorization: `Bearer ${keys.get('admin')}`, 'content-type': 'application/json', 'x-capstan-inference-id': 'captured-1' }, body: '{"user": 1007, "items": [5004, 5005]}' });
    assert.equal(res.status, 200, await res.text());
    const { context, page } = await signedIn('viewer');
    await page.goto(`${base}/console/endpoints/live`);
    const sample = page.getByTestId('capture-sample').filter({ hasText: '"user": 1007' });
    // The capture file is written within rotateMs; refresh until it is there.
    for (let i = 0; i < 50 && (await sample.count()) === 0; i++) {
      await page.getByTestId('capture-refresh').click();
      await page.waitForTimeout(200);
    }
    assert.equal(await sample.count(), 1);
    assert.match((await sample.textContent()) ?? '', /primary.*200/);
    await page.screenshot({ path: path.join(shots, 'data-capture.png') });
    await context.close();
  });

  it("draws a rollout's traffic share over time with a point for each of its steps", async () => {
    const started = await call('POST', '/api/v1/endpoints/roll/deployments', { model: 'models:/ncf/2', policy: { strategy: 'linear', linearStepPercent: 50, waitSeconds: 0, evaluationIntervalSeconds: 1 } });
    assert.equal(started.status, 201, JSON.stringify(started.json));
    let dep = started.json;
    for (let i = 0; i < 100 && dep.status === 'Running'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      dep = (await call('GET', `/api/v1/endpoints/roll/deployments/${dep.id}`)).json;
    }
    assert.ok(dep.steps.length >= 2, JSON.stringify(dep.steps));
    const { context, page } = await signedIn('viewer');
    await page.goto(`${base}/console/endpoints/roll`);
    await page.getByTestId('rollout-link').first().click();
    await page.getByTestId('traffic-chart').waitFor();
    const points = page.getByTestId('traffic-step');
    assert.equal(await points.count(), dep.steps.length);
    const shares = await Promise.all((await points.all()).map(async (p) => Number(await p.getAttribute('data-percent'))));
    assert.deepEqual(shares, dep.steps.map((s: { greenPercent: number }) => s.greenPercent));
    assert.equal(await page.getByTestId('rollout-status').textContent(), dep.status);
    await page.screenshot({ path: path.join(shots, 'rollout.png') });
    await page.goto(`${base}/console/endpoints/roll/rollouts/no-such-deployment`);
    await page.getByTestId('not-found').waitFor();
    await context.close();
  });

  it('marks the alarm that rolled a deployment back on its traffic chart', async () => {
    // An alarm that always holds true fires at the first evaluation and rolls the deployment back.
    const policy = { strategy: 'linear', linearStepPercent: 25, waitSeconds: 60, evaluationIntervalSeconds: 1, onAlarm: 'rollback', alarms: [{ name: 'always', type: 'cel', expression: 'green.requests >= 0.0', minRequests: 0 }] };
    const started = await call('POST', '/api/v1/endpoints/alarmed/deployments', { model: 'models:/ncf/2', policy });
    assert.equal(started.status, 201, JSON.stringify(started.json));
    let dep = started.json;
    for (let i = 0; i < 100 && dep.status === 'Running'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      dep = (await call('GET', `/api/v1/endpoints/alarmed/deployments/${dep.id}`)).json;
    }
    assert.equal(dep.status, 'RolledBack', JSON.stringify(dep));
    const { context, page } = await signedIn('viewer');
    await page.goto(`${base}/console/endpoints/alarmed/rollouts/${encodeURIComponent(dep.id)}`);
    await page.getByTestId('traffic-chart').waitFor();
    assert.equal(await page.getByTestId('alarm-marker').count(), dep.evaluations.filter((e: { fired: boolean | null }) => e.fired === true).length);
    assert.match((await page.getByTestId('alarm-marker').first().textContent()) ?? '', /always/);
    assert.equal(await page.getByTestId('rollout-status').textContent(), 'RolledBack');
    await page.screenshot({ path: path.join(shots, 'rollout-alarm.png') });
    await context.close();
  });

  it('shows a decision record with its task results, its rule trace and the JDM graph with the nodes taken highlighted', async () => {
    assert.equal((await call('POST', '/api/v1/decisions/usecases', { definition: JDM_USECASE, activate: true })).status, 201);
    const decided = await call('POST', '/api/v1/decisions/risk-graph', { customer: 'c9', amount: 80 });
    assert.equal(decided.status, 200, JSON.stringify(decided.json));
    assert.equal(decided.json.outcome, 'review');
    const { context, page } = await signedIn('viewer');
    await page.goto(`${base}/console/decisions`);
    await page.getByTestId('decision-link').filter({ hasText: decided.json.id }).click();
    await page.getByTestId('jdm-graph').waitFor();
    assert.equal(await page.getByTestId('decision-outcome').textContent(), 'review');
    assert.match((await page.getByTestId('decision-tasks').textContent()) ?? '', /risk.*cel.*ok/);
    assert.match((await page.getByTestId('rule-trace').textContent()) ?? '', /Risk table/);
    const taken = Object.fromEntries(await Promise.all((await page.getByTestId('jdm-node').all()).map(async (n) => [await n.getAttribute('data-node'), await n.getAttribute('data-taken')])));
    assert.deepEqual(taken, { in: 'true', table: 'true', unused: 'false', out: 'true' });
    await page.screenshot({ path: path.join(shots, 'decision-record.png') });
    await page.goto(`${base}/console/decisions/usecases/risk-graph`);
    await page.getByTestId('replay-version').fill('1');
    await page.getByTestId('replay-since').fill(new Date(Date.now() - 3600_000).toISOString());
    await page.getByTestId('replay-run').click();
    await page.getByTestId('replay-report').waitFor();
    assert.equal(await page.getByTestId('replay-records').textContent(), '1');
    assert.equal(await page.getByTestId('replay-changed').textContent(), '0');
    await page.goto(`${base}/console/decisions/usecases/nope`);
    await page.getByTestId('not-found').waitFor();
    await context.close();
  });

  it('lists jobs by state with their last error; an editor cancels a queued job and retries it, a viewer gets no buttons', async () => {
    // The server's worker marks a job of a type nobody handles dead at once; the second waits an hour.
    const dead = await t.platform.queue.enqueue('console.unknown', { id: 'x' }, { queue: 'console-test' });
    const later = await t.platform.queue.enqueue('console.unknown', { id: 'y' }, { queue: 'console-test', runAt: Date.now() + 3_600_000 });
    const stateOf = async (id: string) => (await call('GET', `/api/v1/jobs/${id}`)).json.state as string;
    for (let i = 0; i < 100 && (await stateOf(dead.id)) !== 'dead'; i++) await new Promise((r) => setTimeout(r, 50));

    const viewer = await signedIn('viewer');
    await viewer.page.goto(`${base}/console/jobs`);
    const row = viewer.page.locator(`[data-testid="job"][data-job="${dead.id}"]`);
    await row.waitFor();
    assert.match((await row.getByTestId('job-error').textContent()) ?? '', /no handler for job type "console\.unknown"/);
    assert.equal(await row.getByTestId('job-retry').count(), 0, 'a viewer may look, not act');
    assert.ok(Number(await viewer.page.getByTestId('job-state-dead').getByTestId('job-count').textContent()) >= 1);
    await viewer.page.screenshot({ path: path.join(shots, 'jobs.png') });
    await viewer.context.close();

    const { context, page } = await signedIn('editor');
    await page.goto(`${base}/console/jobs?state=queued`);
    const queued = page.locator(`[data-testid="job"][data-job="${later.id}"]`);
    await queued.getByTestId('job-cancel').click();
    await queued.waitFor({ state: 'detached' });
    assert.equal(await stateOf(later.id), 'cancelled');
    await page.getByTestId('job-state-cancelled').click();
    await page.locator(`[data-testid="job"][data-job="${later.id}"]`).getByTestId('job-retry').click();
    await page.locator(`[data-testid="job"][data-job="${later.id}"]`).waitFor({ state: 'detached' });
    assert.notEqual(await stateOf(later.id), 'cancelled', 'queued again (and then dead: nobody handles its type)');
    await context.close();
  });

  it('shows each feature group with its schema and the age of its newest online value', async () => {
    assert.equal((await call('POST', '/api/v1/features/apply', DEFINITIONS)).status, 200);
    const pushed = await call('POST', '/api/v1/feature-groups/txn/records', [{ customer_id: 'c1', event_time: new Date(Date.now() - 120_000).toISOString(), amount_sum: 4.5, txn_count: 2 }]);
    assert.equal(pushed.status, 200, JSON.stringify(pushed.json));
    assert.equal((await call('POST', '/api/v1/feature-groups/txn/materialize')).status, 200);
    const fresh = await call('GET', '/api/v1/features/freshness');
    assert.deepEqual(fresh.json.items.map((f: { group: string; version: number }) => `${f.group}@${f.version}`), ['txn@1']);
    assert.ok(fresh.json.items[0].ageSeconds >= 120);
    const { context, page } = await signedIn('viewer');
    await page.goto(`${base}/console/features`);
    const group = page.locator('[data-testid="feature-group"][data-group="txn"]');
    await group.waitFor();
    assert.match((await group.getByTestId('freshness-age').textContent()) ?? '', /^\d+ (s|min)$/);
    assert.match((await group.getByTestId('feature-schema').textContent()) ?? '', /amount_sum/);
    await page.screenshot({ path: path.join(shots, 'features.png') });
    await context.close();
  });
});
