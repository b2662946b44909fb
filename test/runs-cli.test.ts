import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { metricChart } from '../src/cli/commands/runs-command.js';
import { openPlatform } from '../src/platform/platform.js';
import { cliJson, cliProblem, runCapstan } from './support/capstan-cli.js';

describe('capstan experiments and runs', () => {
  let home: string;
  const ids: string[] = [];
  const capstan = (...args: string[]) => runCapstan(['--home', home, ...args], { env: { CAPSTAN_LOG_LEVEL: 'silent' } });

  before(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'capstan-runs-cli-'));
    const platform = await openPlatform({ config: compileConfig({ flags: { home }, env: {}, cwd: home }), logger: silentLogger() });
    try {
      for (const [lr, curve] of [[0.1, [0.5, 0.6, 0.7]], [0.01, [0.4, 0.45, 0.5]]] as const) {
        const run = await platform.registry.createRun({ experiment: 'fraud', name: `lr-${lr}` });
        await platform.registry.logParams(run.id, { lr, epochs: 3 });
        await platform.registry.logMetrics(run.id, curve.map((value, step) => ({ key: 'auc', value, step })));
        await platform.registry.updateRun(run.id, { status: 'finished' });
        ids.push(run.id);
      }
    } finally {
      await platform.close();
    }
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  it('lists experiments and runs, and shows one run', async () => {
    assert.deepEqual(cliJson(await capstan('experiments', 'list', '--json')).map((e: { name: string }) => e.name), ['fraud']);
    const runs = cliJson(await capstan('runs', 'list', '--experiment', 'fraud', '--status', 'finished', '--json'));
    assert.deepEqual(runs.map((r: { id: string }) => r.id).sort(), [...ids].sort());
    const shown = await capstan('runs', 'show', ids[0]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^status:\s+finished$/m);
    assert.match(shown.stdout, /^metrics:\s+auc=0\.7$/m);
    assert.match(shown.stdout, /^params:\s+epochs=3 lr=0\.1$/m);
  });

  it('draws a metric history and compares runs, showing the param that differs', async () => {
    const chart = await capstan('runs', 'metric', ids[0], 'auc');
    assert.equal(chart.code, 0, chart.stderr);
    assert.match(chart.stdout, /auc \(3 points\)/);
    assert.match(chart.stdout, /^\s+2 █+\s+0\.7$/m);
    const table = await capstan('runs', 'compare', ...ids);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+AUC\s+LR$/m, 'lr differs, epochs does not');
    assert.match(table.stdout, /1 params equal in every row not shown/);
    const json = cliJson(await capstan('runs', 'compare', ...ids, '--json'));
    assert.equal(json.best.auc, ids[0]);
  });

  it('refuses a bad status and an unknown run with their codes', async () => {
    assert.equal(cliProblem(await capstan('runs', 'list', '--status', 'done', '--json')).code, 'CAPSTAN_REQUEST_INVALID');
    assert.equal(cliProblem(await capstan('runs', 'show', 'run_nope', '--json')).code, 'CAPSTAN_REGISTRY_RUN_NOT_FOUND');
  });

  it('samples a long history down to the rows it shows, keeping the first and last point', () => {
    const points = Array.from({ length: 1000 }, (_, i) => ({ key: 'loss', value: 1 / (i + 1), step: i }));
    const lines = metricChart(points, 10, 20).split('\n');
    assert.equal(lines.length, 11);
    assert.match(lines[0], /loss \(1000 points, 10 shown\)/);
    assert.match(lines[1], /^\s+0 █{20} 1$/);
    assert.match(lines[10], /^\s+999 █\s+0\.001$/);
  });
});
