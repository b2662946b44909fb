import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { pipelinesFixture, type PipelinesFixture } from './pipelines-support.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { killGroupFromPidFile, processRunning } from './support/process-running.js';

const CHILD = fileURLToPath(new URL('./fixtures/pipeline-scheduler-process.ts', import.meta.url));

function startScheduler(url: string, fx: PipelinesFixture): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CHILD, url, path.join(fx.dir, 'artifacts'), path.join(fx.dir, 'work')], { stdio: ['ignore', 'pipe', 'inherit'] });
}

const until = <T>(what: string, fn: () => Promise<T | undefined>) => pollUntil(what, fn, { deadlineMs: 400_000, intervalMs: 100 });

const running = processRunning;

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).length : 0);

for (const factory of await testDatabases()) {
  describe(`pipeline crash recovery (${factory.name})`, { skip: factory.skip }, () => {
    let fx: PipelinesFixture;
    let url: string;
    const children: ChildProcess[] = [];
    before(async () => {
      fx = await pipelinesFixture(factory);
      // The fixture's own scheduler is never started; executions run only in the child processes.
      url = fx.url;
    });
    after(async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      killGroupFromPidFile(path.join(fx.dir, 'sleeper.pid'));
      await fx?.dispose();
    });

    it('after kill -9 mid-step, a restarted scheduler kills the orphaned step process, sweeps its working directory and finishes the execution without re-running finished steps', async () => {
      const firstCount = path.join(fx.dir, 'first.count');
      const secondCount = path.join(fx.dir, 'second.count');
      const pidFile = path.join(fx.dir, 'sleeper.pid');
      const { pipeline } = await fx.service.apply(parsePipelineYaml(`name: crashy
steps:
  - name: first
    type: processing
    command: [sh, -c, 'echo x >> ${firstCount}; echo data > "$CAPSTAN_OUTPUT_DIR/out/d"']
    outputs: [out]
  - name: second
    type: processing
    inputs: { in: "\${steps.first.outputs.out}" }
    command: [sh, -c, 'echo x >> ${secondCount}; if [ $(wc -l < ${secondCount}) -eq 1 ]; then echo $$ > ${pidFile}; echo "first attempt sleeps"; sleep 120; fi; echo "second attempt finishes"']
  - name: third
    type: processing
    depends_on: [second]
    command: [sh, -c, 'echo third']
`, 'crash.yaml', fx.dir));
      const exec = await fx.service.start(pipeline.name);

      const first = startScheduler(url, fx);
      children.push(first);
      await until('the second step to start and log', async () =>
        lines(secondCount) === 1 && (await fx.service.executionLogs(exec.id, { step: 'second' })).some((l) => l.line === 'first attempt sleeps') ? true : undefined,
      );
      const sleeper = Number(readFileSync(pidFile, 'utf8').trim());
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      assert.ok(running(sleeper), 'the step process outlives the killed scheduler (it has its own process group)');
      const leftovers = () => readdirSync(path.join(fx.dir, 'work')).filter((d) => d.startsWith(`capstan-step-${first.pid}-`));
      assert.equal(leftovers().length, 1, 'the killed scheduler left its step working directory behind');
      const mid = await fx.service.execution(exec.id);
      assert.equal(mid.state, 'running');
      assert.equal(mid.steps.find((s) => s.name === 'first')!.state, 'succeeded');
      assert.equal(mid.steps.find((s) => s.name === 'second')!.state, 'running');

      const second = startScheduler(url, fx);
      children.push(second);
      const done = await until('the execution to finish', async () => {
        const e = await fx.service.execution(exec.id);
        return e.state === 'running' || e.state === 'queued' ? undefined : e;
      });
      second.kill('SIGTERM');
      assert.equal(done.state, 'succeeded', JSON.stringify(done.steps.map((s) => [s.name, s.state, s.error])));
      assert.equal(running(sleeper), false, 'the restart killed the orphaned step process group');
      assert.deepEqual(leftovers(), [], 'the restart removed the dead process\'s working directory');
      const byName = Object.fromEntries(done.steps.map((s) => [s.name, s]));
      assert.equal(byName.first.attempts, 1, 'the finished step is not re-run');
      assert.equal(lines(firstCount), 1);
      assert.equal(byName.second.attempts, 2, 'the interrupted step runs again');
      assert.equal(byName.second.failures, 0, 'an interrupted attempt is not a failure');
      assert.equal(lines(secondCount), 2);
      assert.equal(byName.third.state, 'succeeded');
      const log = (await fx.service.executionLogs(exec.id, { step: 'second' })).map((l) => `${l.attempt}:${l.line}`);
      assert.ok(log.includes('1:first attempt sleeps'));
      assert.ok(log.includes('2:second attempt finishes'));
      assert.ok(log.some((l) => /^2:attempt 1 was interrupted/.test(l)), log.join('\n'));
    });
  });
}
