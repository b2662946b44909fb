import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { after, before, describe, it } from 'node:test';
import { openPlatformAt } from '../src/platform/test-support/test-platform.js';
import { startTestServer } from '../src/server/test-support/test-server.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';
import { cliJson, runCapstan } from './support/capstan-cli.js';

const capstan = (args: string[], home: string) => runCapstan(args, { env: { CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'silent' } });
const json = cliJson;

describe('capstan endpoints (embedded and through --url)', () => {
  let home: string;

  before(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'capstan-endpoints-cli-'));
    const platform = await openPlatformAt(home);
    try {
      for (const seed of [1, 2]) {
        const dir = writeNcfPackage(path.join(home, `pkg-${seed}`), { users: 10, items: 30, seed }).dir;
        await registerApproved(platform.registry, 'ncf', { packageDir: dir });
      }
      await platform.registry.setAlias('ncf', 'champion', 1);
      // Version 3 stays pending: only an admin override may deploy it.
      await platform.registry.registerVersion('ncf', { packageDir: writeNcfPackage(path.join(home, 'pkg-3'), { users: 10, items: 30, seed: 3 }).dir });
    } finally {
      await platform.close();
    }
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  it('creates an endpoint from an alias and ranks items with invoke', async () => {
    const ep = json(await capstan(['endpoints', 'create', 'ncf', '--model', 'models:/ncf@champion', '--json'], home));
    assert.equal(ep.status, 'InService');
    assert.equal(ep.variants[0].resolved.version, 1);
    const run = await capstan(['endpoints', 'invoke', 'ncf', '--body', '{"user":[1000,1000,1000],"item":[5001,5002,5003]}'], home);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^variant: primary$/m);
    assert.match(run.stdout, /RANK\s+ITEM\s+SCORE/);
    const items = [...run.stdout.matchAll(/^\d+\s+(\d+)\s+[\d.]+$/gm)].map((m) => Number(m[1])).sort();
    assert.deepEqual(items, [5001, 5002, 5003]);
  });

  it('describes, lists and changes weights', async () => {
    const described = json(await capstan(['endpoints', 'describe', 'ncf', '--json'], home));
    assert.equal(described.variants[0].model, 'models:/ncf@champion');
    const human = await capstan(['endpoints', 'describe', 'ncf'], home);
    assert.match(human.stdout, /status:\s+InService/);
    assert.match(human.stdout, /primary\s+ncf\/1/);
    // Read from the database, not a serving process: the configured share, no empty live columns.
    assert.match(human.stdout, /^VARIANT\s+MODEL\s+WEIGHT\s+TRAFFIC\s+INSTANCES\s+BATCH$/m);
    assert.match(human.stdout, /^primary\s+ncf\/1\s+1\s+100%\s+1\s+off$/m);
    assert.match(human.stdout, /add --url <server> to see them/);
    const updated = json(await capstan(['endpoints', 'update', 'ncf', '--weights', 'primary=5', '--json'], home));
    assert.equal(updated.variants[0].weight, 5);
    assert.equal(updated.generation, 2);
    const list = json(await capstan(['endpoints', 'list', '--json'], home));
    assert.deepEqual(list.map((e: { name: string }) => e.name), ['ncf']);
  });

  it('reports bad input with the code and changes nothing', async () => {
    const unknown = await capstan(['endpoints', 'invoke', 'ncf', '--body', '{"user":42,"items":[5001]}', '--json'], home);
    assert.equal(unknown.code, 1);
    assert.equal(JSON.parse(unknown.stdout).code, 'CAPSTAN_SERVING_UNKNOWN_IDS');
    const missing = await capstan(['endpoints', 'deploy', 'ncf', '--model', 'models:/ncf/9'], home);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /CAPSTAN_SERVING_MODEL_REF_UNRESOLVED/);
    const still = json(await capstan(['endpoints', 'describe', 'ncf', '--json'], home));
    assert.equal(still.variants[0].resolved.version, 1);
    assert.equal(still.generation, 2);
  });

  it("shows each variant's requests, errors and latency percentiles with stats, and refuses a bad window", async () => {
    // Every CLI process above flushed its counts when it closed: one ranking and one unknown-id refusal.
    const stats = json(await capstan(['endpoints', 'stats', 'ncf', '--window', '10m', '--json'], home));
    assert.equal(stats.windowMs, 600_000);
    assert.deepEqual(stats.variants.map((v: { variant: string; requests: number; errors4xx: number; errors5xx: number }) => [v.variant, v.requests, v.errors4xx, v.errors5xx]), [['primary', 2, 1, 0]]);
    const human = await capstan(['endpoints', 'stats', 'ncf'], home);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^VARIANT\s+REQUESTS\s+4XX\s+5XX\s+MODEL ERRORS\s+ERROR RATE\s+P50 MS\s+P95 MS\s+P99 MS$/m);
    assert.match(human.stdout, /^primary\s+2\s+1\s+0\s+0\s+0%\s+[\d.]+\s+[\d.]+\s+[\d.]+$/m);
    const bad = await capstan(['endpoints', 'stats', 'ncf', '--window', 'soon'], home);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /CAPSTAN_REQUEST_INVALID/);
    assert.match(bad.stderr, /--window must be a duration such as 90s, 5m or 1h/);
  });

  it('deploys and invokes through a running server with --url, then deletes', async () => {
    const server = await startTestServer({}, { home });
    try {
      const deployed = json(await capstan(['--url', server.url, 'endpoints', 'deploy', 'ncf', '--model', 'models:/ncf/2', '--json'], home));
      assert.equal(deployed.action, 'updated');
      assert.equal(deployed.model.version, 2);
      const invoked = json(await capstan(['--url', server.url, 'endpoints', 'invoke', 'ncf', '--body', '{"user":1001,"items":[5001,5002]}', '--json'], home));
      assert.equal(invoked.variant, 'primary');
      assert.equal(invoked.body.items.length, 2);
      const stats = json(await capstan(['--url', server.url, 'endpoints', 'stats', 'ncf', '--json'], home));
      assert.equal(stats.variants[0].requests, 3, 'the server counts its request on top of the earlier ones');
      const live = await capstan(['--url', server.url, 'endpoints', 'describe', 'ncf'], home);
      assert.match(live.stdout, /^VARIANT\s+MODEL\s+WEIGHT\s+TRAFFIC\s+WORKERS\s+IN-FLIGHT\s+RESTARTS\s+BATCH$/m);
      assert.match(live.stdout, /^primary\s+ncf\/2\s+\d+\s+100%\s+1\/1\s+0\s+0\s+off$/m);
      const overridden = json(await capstan(['--url', server.url, 'endpoints', 'deploy', 'ncf', '--model', 'models:/ncf/3', '--allow-unapproved', 'remote canary', '--json'], home));
      assert.equal(overridden.model.version, 3);
      assert.deepEqual(overridden.endpoint.approvalOverrides.map((o: { version: number; reason: string; actor: string }) => [o.version, o.reason, o.actor]), [[3, 'remote canary', 'anonymous']]);
      json(await capstan(['--url', server.url, 'endpoints', 'delete', 'ncf', '--json'], home));
      const gone = await capstan(['--url', server.url, 'endpoints', 'describe', 'ncf', '--json'], home);
      assert.equal(gone.code, 1);
      assert.equal(JSON.parse(gone.stdout).code, 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
    } finally {
      await server.dispose();
    }
  });

  it('refuses to deploy a pending version, and deploys it with --allow-unapproved, showing the override in describe', async () => {
    const refused = await capstan(['endpoints', 'deploy', 'gate', '--model', 'models:/ncf/3', '--json'], home);
    assert.equal(refused.code, 1);
    assert.equal(JSON.parse(refused.stdout).code, 'CAPSTAN_SERVING_MODEL_NOT_APPROVED');
    assert.equal((await capstan(['endpoints', 'describe', 'gate', '--json'], home)).code, 1, 'no endpoint was created');
    const allowed = json(await capstan(['endpoints', 'deploy', 'gate', '--model', 'models:/ncf/3', '--allow-unapproved', 'load test of the candidate', '--json'], home));
    assert.equal(allowed.action, 'created');
    assert.equal(allowed.endpoint.approvalOverrides[0].reason, 'load test of the candidate');
    assert.match(allowed.endpoint.approvalOverrides[0].actor, /^local:/);
    const human = (await capstan(['endpoints', 'describe', 'gate'], home)).stdout;
    assert.match(human, /unapproved deploys:/);
    assert.match(human, /ncf\/3\s+PendingManualApproval\s+primary\s+local:\S+\s+load test of the candidate/);
  });
});
