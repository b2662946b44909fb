import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { openPlatformAt } from '../src/platform/test-support/test-platform.js';
import { writeAdderPackage } from '../src/rollouts/test-support/rollout-fixtures.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { cliJson, cliProblem, runCapstan } from './support/capstan-cli.js';

const ENV = { CAPSTAN_LOG_LEVEL: 'silent' };

describe('capstan endpoints deploy|update --strategy, deployments, rollback (embedded and through --url)', () => {
  let home: string;
  let server: TestServer;
  const capstan = (args: string[]) => runCapstan(args, { env: { ...ENV, CAPSTAN_HOME: home } });
  const remote = (args: string[]) => runCapstan([...args, '--url', server.url], { env: ENV });

  before(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'capstan-rollouts-cli-'));
    const platform = await openPlatformAt(home);
    try {
      for (const v of [1, 2, 3]) await registerApproved(platform.registry, 'adder', { packageDir: writeAdderPackage(path.join(home, `v${v}`)) });
    } finally {
      await platform.close();
    }
    cliJson(await capstan(['endpoints', 'create', 'calc', '--model', 'models:/adder/1', '--json']));
  });
  after(async () => {
    await server?.dispose().catch(() => {});
    rmSync(home, { recursive: true, force: true });
  });

  it('refuses bad policies, broken alarms and a strategy without a previous version, changing nothing', async () => {
    let p = cliProblem(await capstan(['endpoints', 'deploy', 'calc', '--model', 'models:/adder/2', '--strategy', 'canary', '--canary-percent', '60', '--json']));
    assert.equal(p.code, 'CAPSTAN_ROLLOUT_POLICY_INVALID');
    assert.match(p.detail, /canaryPercent must be an integer from 1 to 50 %, got 60/);
    p = cliProblem(await capstan(['endpoints', 'deploy', 'calc', '--model', 'models:/adder/2', '--strategy', 'linear', '--linear-step-percent', 'lots', '--json']));
    assert.match(p.detail, /linearStepPercent must be an integer from 10 to 50 %, got "lots"/);
    p = cliProblem(await capstan(['endpoints', 'deploy', 'calc', '--model', 'models:/adder/2', '--strategy', 'canary', '--alarm', 'green.errorRate >', '--json']));
    assert.equal(p.code, 'CAPSTAN_ROLLOUT_ALARM_INVALID');
    assert.match(p.detail, /is not valid CEL/);
    p = cliProblem(await capstan(['endpoints', 'deploy', 'nowhere', '--model', 'models:/adder/2', '--strategy', 'canary', '--json']));
    assert.equal(p.code, 'CAPSTAN_ROLLOUT_NO_PREVIOUS_VERSION');
    const ep = cliJson(await capstan(['endpoints', 'describe', 'calc', '--json']));
    assert.deepEqual([ep.generation, ep.variants.length], [1, 1]);
    assert.deepEqual(cliJson(await capstan(['endpoints', 'deployments', 'calc', '--json'])), []);
  });

  it('answers 409 to a second deployment while one runs, then rolls out linearly through a server running the controller, with the history', async () => {
    server = await startTestServer({ 'rollouts.tickMs': 100, 'serving.statsFlushMs': 200 }, { home, background: true });
    const held = cliJson(await remote(['endpoints', 'deploy', 'calc', '--model', 'models:/adder/3', '--strategy', 'canary', '--wait', '3600', '--json']));
    assert.equal(held.greenPercent, 10);
    const second = cliProblem(await remote(['endpoints', 'deploy', 'calc', '--model', 'models:/adder/2', '--strategy', 'canary', '--json']));
    assert.equal(second.code, 'CAPSTAN_ROLLOUT_IN_PROGRESS');
    assert.equal(second.status, 409);
    const started = cliJson(await remote(['endpoints', 'deploy', 'calc', '--model', 'models:/adder/2', '--force', '--strategy', 'linear', '--linear-step-percent', '50', '--wait', '1', '--eval-interval', '1', '--max-error-rate', '0.1', '--json']));
    assert.equal(started.status, 'Running');
    assert.deepEqual(started.policy.alarms, [{ type: 'error-rate', threshold: 0.1 }]);
    const done = await pollUntil('the linear rollout finished', async () => {
      const [d] = cliJson(await remote(['endpoints', 'deployments', 'calc', '--json']));
      return d.status === 'Running' ? undefined : d;
    });
    assert.equal(done.status, 'Succeeded');
    const list = cliJson(await remote(['endpoints', 'deployments', 'calc', '--json']));
    assert.deepEqual(list.map((d: { status: string; reason?: string }) => [d.status, d.reason]), [['Succeeded', undefined], ['RolledBack', 'superseded by a forced deployment']]);
    const text = await remote(['endpoints', 'deployments', 'calc', '--id', done.id]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /strategy: {4}linear 50% steps, wait 1s, on alarm rollback/);
    assert.match(text.stdout, /status: {6}Succeeded/);
  });

  it('rolls out the variants of an update --file with the deploymentPolicy in the same YAML, and rolls it back by hand', async () => {
    const file = path.join(home, 'next.yaml');
    writeFileSync(file, 'variants:\n  - name: primary\n    model: models:/adder/3\ndeploymentPolicy:\n  strategy: canary\n  canaryPercent: 25\n  waitSeconds: 3600\n');
    const d = cliJson(await remote(['endpoints', 'update', 'calc', '--file', file, '--json']));
    assert.equal(d.policy.strategy, 'canary');
    assert.equal(d.greenPercent, 25);
    assert.equal(d.green[0].model, 'models:/adder/3');
    assert.notEqual(d.green[0].name, 'primary', 'green is renamed beside blue');
    const rolled = cliJson(await remote(['endpoints', 'rollback', 'calc', '--json']));
    assert.equal(rolled.status, 'RolledBack');
    const ep = cliJson(await remote(['endpoints', 'describe', 'calc', '--json']));
    assert.deepEqual(ep.variants.map((v: { resolved: { version: number } }) => v.resolved.version), [2]);
    const none = cliProblem(await remote(['endpoints', 'rollback', 'calc', '--json']));
    assert.equal(none.code, 'CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND');
  });
});
