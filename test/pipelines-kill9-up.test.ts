import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import type { ExecutionRecord } from '../src/pipelines/execution.js';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { CapstanProcess } from './support/capstan-cli.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { processRunning } from './support/process-running.js';

const until = <T>(what: string, probe: () => Promise<T | undefined>) => pollUntil(what, probe, { deadlineMs: 300_000, intervalMs: 100 });

const running = processRunning;

// kill -9 of a real `capstan up` in the middle of a training step, then a restart: the restart must
// leave nothing of the killed attempt behind — no process, no registry run stuck `running`, no
// working directory — and finish the step once.
for (const factory of await testDatabases()) {
  describe(`capstan up killed with -9 mid-step (${factory.name})`, { skip: factory.skip }, () => {
    let home: string;
    let database: TestDatabase;
    let platform: Platform;
    const children: CapstanProcess[] = [];
    let sleeper: number | undefined;
    before(async () => {
      home = mkdtempSync(path.join(os.tmpdir(), 'capstan-kill9-'));
      database = await factory.create();
      // The test's own view of the same home and database; its scheduler is never started.
      platform = await openPlatform({ config: compileConfig({ flags: { home, databaseUrl: database.url }, env: {}, cwd: home }), logger: silentLogger() });
    });
    after(async () => {
      for (const c of children) c.kill('SIGKILL');
      if (sleeper) {
        try {
          process.kill(-sleeper, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await platform?.close();
      await database?.dispose();
      rmSync(home, { recursive: true, force: true });
    });

    const up = async (): Promise<CapstanProcess> => {
      const child = new CapstanProcess(['up', '--port', '0', '--json'], {
        cwd: home,
        env: { CAPSTAN_HOME: home, CAPSTAN_DATABASE_URL: database.url, CAPSTAN_LOG_LEVEL: 'error', CAPSTAN_PIPELINES_LEASE_MS: '3000', CAPSTAN_PIPELINES_KILL_GRACE_MS: '200' },
      });
      children.push(child);
      await child.until('capstan up to listen', (p) => p.documents()[0], 120_000);
      return child;
    };

    it('a restart kills the orphaned step, closes its registry run as killed, removes its working directory and runs the step once more', async () => {
      const pidFile = path.join(home, 'sleeper.pid');
      const { pipeline } = await platform.pipelines.apply(parsePipelineYaml(`name: killed
steps:
  - name: train
    type: training
    hyperparameters: { epochs: 2 }
    metric_definitions: [{ name: loss, regex: "loss=([0-9.]+);" }]
    command: [sh, -c, 'echo "loss=0.5;"; if [ "$CAPSTAN_ATTEMPT" = 1 ]; then echo $$ > ${pidFile}; sleep 120; fi; echo m > "$CAPSTAN_MODEL_DIR/m"']
`, 'k.yaml', home));
      const exec = await platform.pipelines.start(pipeline.name);
      const first = await up();
      await until('attempt 1 to run with its registry run', async () => {
        const runs = await platform.registry.listRuns({ pipelineExecutionId: exec.id });
        return existsSync(pidFile) && runs.length === 1 ? true : undefined;
      });
      sleeper = Number(readFileSync(pidFile, 'utf8'));
      first.kill('SIGKILL');
      await first.exited;
      assert.ok(running(sleeper), 'the step process outlives the killed server');
      const workDirs = () => (existsSync(path.join(home, 'tmp')) ? readdirSync(path.join(home, 'tmp')).filter((d) => d.startsWith(`capstan-step-${first.child.pid}-`)) : []);
      assert.equal(workDirs().length, 1, 'the killed server left its step working directory');
      assert.equal((await platform.registry.listRuns({ pipelineExecutionId: exec.id }))[0].status, 'running');

      const second = await up();
      const done = await until('the execution to end', async () => {
        const e = await platform.pipelines.execution(exec.id);
        return ['succeeded', 'failed', 'cancelled'].includes(e.state) ? e : undefined;
      }) as ExecutionRecord;
      second.kill('SIGTERM');
      await second.exited;

      assert.equal(done.state, 'succeeded', JSON.stringify(done.steps));
      assert.equal(done.steps[0].attempts, 2);
      assert.equal(running(sleeper), false, 'the restart killed the orphaned step process');
      assert.deepEqual(workDirs(), [], 'the restart removed the dead server\'s working directory');
      const runs = await platform.registry.listRuns({ pipelineExecutionId: exec.id });
      assert.deepEqual(runs.map((r) => r.status).sort(), ['finished', 'killed'], 'no run is left running; one finished');
      assert.equal(runs.find((r) => r.status === 'finished')!.id, (done.steps[0].properties._capstan as { runId: string }).runId);
    });
  });
}
