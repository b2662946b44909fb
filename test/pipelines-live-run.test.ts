import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPipeline } from './pipelines-support.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';

const until = <T>(what: string, probe: () => Promise<T | undefined>) => pollUntil(what, probe, { deadlineMs: 10_000 });

// A training step's registry run is current while the step runs, as MLflow users expect of a live
// training curve, and is closed with the step's outcome.
describe('registry runs of pipeline steps, live', () => {
  let t: TestPlatform;
  before(async () => {
    t = await openTestPlatform();
  });
  after(async () => {
    await t?.dispose();
  });

  const start = (yaml: string) => startPipeline(t.platform.pipelines, yaml, t.home);

  it('shows the metric points of a running step in its run, then closes the run as finished', async () => {
    const flag = path.join(t.home, 'go');
    const { id, done } = await start(`name: live
steps:
  - name: train
    type: training
    hyperparameters: { epochs: 3 }
    metric_definitions: [{ name: loss, regex: "loss=([0-9.]+);" }]
    command: [sh, -c, 'echo "loss=0.9;"; echo "loss=0.5;"; while [ ! -f ${flag} ]; do sleep 0.05; done; echo "loss=0.2;"; echo m > "$CAPSTAN_MODEL_DIR/m"']
`);
    const running = await until('the running run with two points', async () => {
      const [run] = await t.platform.registry.listRuns({ pipelineExecutionId: id });
      if (!run) return undefined;
      const points = await t.platform.registry.metricHistory(run.id, 'loss');
      return points.length === 2 ? { run, points } : undefined;
    });
    assert.equal(running.run.status, 'running');
    assert.deepEqual(running.run.params, { epochs: '3' });
    assert.deepEqual(running.points.map((p) => p.value), [0.9, 0.5]);
    writeFileSync(flag, '');
    const exec = await done;
    assert.equal(exec.state, 'succeeded');
    const run = await t.platform.registry.getRun(running.run.id);
    assert.equal(run.status, 'finished');
    assert.deepEqual(run.metrics, { loss: 0.2 });
    assert.ok((run.durationMs ?? 0) > 0);
    assert.equal(exec.steps[0].properties._capstan && (exec.steps[0].properties._capstan as { runId: string }).runId, run.id);
  });

  it('closes the run of a failing step as failed, with the points it logged', async () => {
    const { id, done } = await start(`name: live-fail
steps:
  - name: train
    type: training
    metric_definitions: [{ name: loss, regex: "loss=([0-9.]+);" }]
    command: [sh, -c, 'echo "loss=0.7;"; exit 4']
`);
    assert.equal((await done).state, 'failed');
    const [run] = await t.platform.registry.listRuns({ pipelineExecutionId: id });
    assert.equal(run.status, 'failed');
    assert.deepEqual(run.metrics, { loss: 0.7 });
  });
});
