import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runningInCi } from '../src/core/config.js';
import type { ExecutionRecord } from '../src/pipelines/execution.js';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { privatePostgresUnavailable, startPrivatePostgres, type PrivatePostgres } from '../src/storage/test-support/private-postgres.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';

const LEASE_MS = 3000;

// The database is down on purpose for part of the test: a probe that fails counts as "not yet".
const until = <T>(what: string, probe: () => Promise<T | undefined>) => pollUntil(what, probe, { deadlineMs: 60_000, intervalMs: 100, ignoreErrors: true });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The audit's incident: PostgreSQL went away for longer than the lease while a step ran. The step
// must run exactly once to its end: the attempt that lost its lease is stopped (its process too), and
// nothing it does afterwards — state, outputs, log lines, registry run — lands. The test stops a
// private cluster for real (the machine's shared server is used by other suites).
describe('a PostgreSQL outage longer than the lease, mid-step', { skip: runningInCi() ? undefined : privatePostgresUnavailable() }, () => {
  let pg: PrivatePostgres;
  let t: TestPlatform;
  before(async () => {
    pg = await startPrivatePostgres();
    t = await openTestPlatform({ databaseUrl: pg.url, 'pipelines.leaseMs': LEASE_MS, 'pipelines.killGraceMs': 200 });
    await t.platform.pipelines.scheduler.start();
  });
  after(async () => {
    for (const a of [1, 2]) {
      const f = path.join(t.home, `pid-${a}`);
      if (existsSync(f)) signalQuietly(Number(readFileSync(f, 'utf8')));
    }
    await t?.dispose().catch(() => {});
    await pg?.dispose();
  });

  it('stops the attempt that lost its lease; exactly one attempt\'s outputs, state, log and run survive, with no interleaved lines', async () => {
    const marks = path.join(t.home, 'marks');
    // Applied and started without `wait`: the scheduler runs it (a waiting caller would see the outage too).
    const { pipeline } = await t.platform.pipelines.apply(parsePipelineYaml(`name: outage
steps:
  - name: train
    type: processing
    hyperparameters: { epochs: 1 }
    outputs: [out]
    command: [sh, -c, 'echo $$ > ${t.home}/pid-$CAPSTAN_ATTEMPT; echo "start $CAPSTAN_ATTEMPT" >> ${marks}; n=5; [ "$CAPSTAN_ATTEMPT" = 1 ] && n=200; i=0; while [ $i -lt $n ]; do echo "tick $CAPSTAN_ATTEMPT $i"; i=$((i+1)); sleep 0.1; done; echo ok > "$CAPSTAN_OUTPUT_DIR/out/f"; echo "done $CAPSTAN_ATTEMPT" >> ${marks}']
`, 'outage.yaml', t.home));
    const { id } = await t.platform.pipelines.start(pipeline.name);
    const pids = path.join(t.home, 'pid-1');
    await until('attempt 1 to run and log', async () =>
      existsSync(pids) && (await t.platform.pipelines.executionLogs(id, { step: 'train' })).some((l) => l.line === 'tick 1 2') ? true : undefined,
    );
    const first = Number(readFileSync(pids, 'utf8'));

    await pg.stop();
    const stoppedAt = Date.now();
    // Keep the database away for more than a whole lease (the outage length, not an assertion).
    await until('the outage to outlast the lease', async () => (Date.now() - stoppedAt > LEASE_MS * 2 ? true : undefined));
    assert.equal(alive(first), false, 'the attempt that lost its lease was stopped during the outage');
    await pg.start();

    const done = await until('the execution to end', async () => {
      const e = await t.platform.pipelines.execution(id);
      return e.state === 'succeeded' || e.state === 'failed' || e.state === 'cancelled' ? e : undefined;
    }) as ExecutionRecord;
    assert.equal(done.state, 'succeeded', JSON.stringify(done.steps));
    const [step] = done.steps;
    assert.equal(step.attempts, 2);
    assert.match(step.outputs.out.uri, /\/attempt-2\/out$/, 'the step records the second attempt\'s output');
    assert.deepEqual(await t.platform.artifacts.list(`pipelines/outage/executions/${id}/train/attempt-1/`), [], 'attempt 1 uploaded nothing');
    assert.deepEqual(readFileSync(marks, 'utf8').trim().split('\n'), ['start 1', 'start 2', 'done 2'], 'attempt 1 never reached its end');

    const log = await t.platform.pipelines.executionLogs(id, { step: 'train' });
    const firstLines = log.filter((l) => l.attempt === 1);
    const secondLines = log.filter((l) => l.attempt === 2);
    assert.ok(firstLines.length > 0 && secondLines.length > 0);
    const lastOfFirst = Math.max(...firstLines.map((l) => Date.parse(l.at)));
    const firstOfSecond = Math.min(...secondLines.map((l) => Date.parse(l.at)));
    assert.ok(lastOfFirst < firstOfSecond, `attempt 1 logged until ${new Date(lastOfFirst).toISOString()}, attempt 2 from ${new Date(firstOfSecond).toISOString()}`);
    const ticks = firstLines.filter((l) => l.line.startsWith('tick ')).map((l) => Number(l.line.split(' ')[2]));
    assert.deepEqual(ticks, ticks.map((_, i) => i), 'attempt 1\'s stored lines are its first ones, in order, none missing in between');
    assert.ok(secondLines.some((l) => /^attempt 1 was interrupted/.test(l.line)));

    const runs = await t.platform.registry.listRuns({ pipelineExecutionId: id });
    assert.equal(runs.length, 2);
    const finished = runs.filter((r) => r.status === 'finished');
    assert.equal(finished.length, 1, JSON.stringify(runs.map((r) => r.status)));
    assert.equal(finished[0].id, (step.properties._capstan as { runId: string }).runId);
    assert.ok(runs.every((r) => r.status !== 'running'), 'no run is left running');
  });
});

function signalQuietly(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // finished
  }
}
