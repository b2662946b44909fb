import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openPlatformAt } from '../src/platform/test-support/test-platform.js';
import { cliJson, runCapstan } from './support/capstan-cli.js';

/** Runs `capstan demo` on `home`; a demo that hangs is killed after 4 minutes, so the test fails instead of stalling CI. */
function runDemo(home: string, args: string[]) {
  // Run in the home, not the repository, so a capstan.yaml in the working directory cannot change the demo.
  return runCapstan(['demo', '--home', home, '--port', '0', '--exit', '--json', ...args], { cwd: home, env: { CAPSTAN_LOG_LEVEL: 'error' }, timeoutMs: 240_000 });
}

describe('capstan demo (end to end on the embedded default)', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-demo-'));
  after(() => rmSync(home, { recursive: true, force: true }));
  const small = ['--users', '120', '--items', '200', '--interactions', '3000', '--epochs', '2', '--hr-threshold', '0.05'];

  it('trains, registers, auto-approves and serves a model started by the artifact trigger, and prints recommendations', async () => {
    const { code, stdout, stderr } = await runDemo(home, small);
    assert.equal(code, 0, `demo failed:\n${stderr.slice(-3000)}`);
    const summary = JSON.parse(stdout);
    assert.equal(summary.execution.state, 'succeeded');
    assert.equal(summary.execution.trigger, 'artifact:new-interactions', 'the trigger, not a direct call, started it');
    assert.deepEqual(
      summary.execution.steps.map((s: { name: string }) => s.name).sort(),
      ['check-quality', 'deploy', 'evaluate', 'prepare', 'quality-too-low', 'register', 'train'],
    );
    assert.equal(summary.model_version.name, 'ncf');
    assert.equal(summary.model_version.version, 1);
    assert.equal(summary.model_version.approval, 'Approved');
    assert.ok(summary.model_version.metrics['hr@10'] >= 0.05);
    assert.equal(summary.endpoint.status, 'InService');
    const users = Object.keys(summary.recommendations);
    assert.equal(users.length, 3);
    for (const u of users) {
      const items = summary.recommendations[u].items as { score: number }[];
      assert.equal(items.length, 5);
      for (let i = 1; i < items.length; i++) assert.ok(items[i - 1].score >= items[i].score, 'ranked by score');
    }
    assert.match(stderr, /epoch\s+1\s+HR@10/, 'live progress shows training epochs');
    // The hint names the train step's run, whose metric history has one point per epoch.
    const hint = /npx capstan --home \S+ runs metric (\S+) hr@10/.exec(stderr);
    assert.ok(hint, `a runs metric hint in:\n${stderr.slice(-1500)}`);
    const curve = cliJson(await runCapstan(['--home', home, 'runs', 'metric', hint[1], 'hr@10', '--json'], { cwd: home }));
    assert.equal(curve.length, 2, JSON.stringify(curve));

    // The registry holds the version and its auto-approval in the audit history.
    const platform = await openPlatformAt(home);
    try {
      const history = await platform.registry.history('ncf');
      const approval = history.find((e) => e.action === 'approval.changed' && e.version === 1);
      assert.ok(approval, 'approval recorded');
      assert.equal(approval!.to, 'Approved');
      assert.match(approval!.actor, /^system:/);
    } finally {
      await platform.close();
    }
  });

  it('on a second run with the same data reuses cached steps and registers no new version', async () => {
    const { code, stdout, stderr } = await runDemo(home, small);
    assert.equal(code, 0, `demo failed:\n${stderr.slice(-3000)}`);
    const summary = JSON.parse(stdout);
    const steps = Object.fromEntries(summary.execution.steps.map((s: { name: string; cached: boolean }) => [s.name, s]));
    assert.equal(steps.prepare.cached, true);
    assert.equal(steps.train.cached, true);
    assert.equal(summary.model_version.version, 1, 'same data: no new version');
    assert.equal(summary.model_version.newlyRegistered, false);
    assert.equal(summary.endpoint.status, 'InService');
  });
});
