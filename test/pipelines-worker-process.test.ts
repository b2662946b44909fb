import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { pipelinesFixture, type PipelinesFixture } from './pipelines-support.js';
import { CapstanProcess } from './support/capstan-cli.js';
import { killGroupFromPidFile } from './support/process-running.js';

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).length : 0);

// `capstan up` and `capstan worker` as an operator runs them, sharing one database and artifact store;
// the test process only applies pipelines and reads executions (its own scheduler never starts).
for (const factory of await testDatabases()) {
  describe(`capstan worker runs pipeline work beside capstan up (${factory.name})`, { skip: factory.skip }, () => {
    let fx: PipelinesFixture;
    const processes: CapstanProcess[] = [];
    const start = (args: string[]) => {
      const p = new CapstanProcess([...args, '--json'], {
        cwd: fx.dir,
        env: {
          CAPSTAN_HOME: path.join(fx.dir, 'home'),
          CAPSTAN_DATABASE_URL: fx.url,
          CAPSTAN_ARTIFACTS: `file://${path.join(fx.dir, 'artifacts')}`,
          CAPSTAN_PIPELINES_LEASE_MS: '1500',
          CAPSTAN_LOG_LEVEL: 'info',
          CAPSTAN_LOG_FORMAT: 'json',
        },
      });
      processes.push(p);
      return p;
    };
    const up = () => {
      const p = start(['up', '--port', '0']);
      return p.until('up to listen', (u) => u.documents().find((d) => d.url));
    };
    const worker = async () => {
      const p = start(['worker']);
      const started = await p.until('the worker to start', (w) => w.documents().find((d) => d.event === 'started'));
      assert.deepEqual(started.services, ['pipeline-scheduler', 'pipeline-triggers', 'rollout-controller', 'features-materialization-sweep', 'decision-retention', 'decision-alerts', 'gitops-repositories', 'outbox-dispatcher']);
      return p;
    };

    before(async () => {
      fx = await pipelinesFixture(factory);
    });
    after(async () => {
      for (const p of processes) p.kill('SIGKILL');
      await Promise.all(processes.map((p) => p.exited));
      killGroupFromPidFile(path.join(fx.dir, 'sleeper.pid'));
      await fx?.dispose();
    });

    it('after kill -9 of up mid-step, the worker resumes the execution and finishes it', async () => {
      const count = path.join(fx.dir, 'slow.count');
      const pidFile = path.join(fx.dir, 'sleeper.pid');
      const { pipeline } = await fx.service.apply(parsePipelineYaml(`name: handover
steps:
  - name: slow
    type: processing
    command: [sh, -c, 'echo x >> ${count}; if [ $(wc -l < ${count}) -eq 1 ]; then echo $$ > ${pidFile}; echo "first attempt sleeps"; sleep 120; fi; echo "second attempt finishes"']
  - name: after
    type: processing
    depends_on: [slow]
    command: [sh, -c, 'echo after']
`, 'handover.yaml', fx.dir));
      // up is alone when the execution is queued, so it is the one that takes it.
      const server = await up();
      const upProcess = processes.at(-1)!;
      assert.ok(server.url);
      const exec = await fx.service.start(pipeline.name);
      await upProcess.until('the slow step to run in up', async () =>
        (await fx.service.executionLogs(exec.id, { step: 'slow' })).some((l) => l.line === 'first attempt sleeps') ? true : undefined,
      );
      const w = await worker();
      upProcess.kill('SIGKILL');
      await upProcess.exited;
      assert.equal((await fx.service.execution(exec.id)).state, 'running', 'the execution is left running by the killed process');

      const done = await w.until('the worker to finish the execution', async () => {
        const e = await fx.service.execution(exec.id);
        return e.state === 'running' || e.state === 'queued' ? undefined : e;
      });
      assert.equal(done.state, 'succeeded', JSON.stringify(done.steps.map((s) => [s.name, s.state, s.error])));
      const byName = Object.fromEntries(done.steps.map((s) => [s.name, s]));
      assert.equal(byName.slow.attempts, 2, 'the interrupted step runs again in the worker');
      assert.equal(lines(count), 2);
      assert.equal(byName.after.state, 'succeeded');
      const log = (await fx.service.executionLogs(exec.id, { step: 'slow' })).map((l) => `${l.attempt}:${l.line}`);
      assert.ok(log.includes('2:second attempt finishes'), log.join('\n'));

      // The scheduler logs the end after the runner returns, a moment after the database shows it: wait for the line.
      const logged = () => w.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; executionId?: string });
      await w.until('the worker to log the end of the execution', () => (logged().some((r) => r.executionId === exec.id && r.msg === `pipeline execution succeeded: handover ${exec.id}`) ? true : undefined));
      assert.ok(logged().some((r) => r.executionId === exec.id && r.msg === `pipeline execution resumed: handover ${exec.id}`), w.stderr);
      w.kill('SIGTERM');
      const exit = await w.exited;
      assert.equal(exit.code, 0, w.stderr);
      assert.ok(w.documents().some((d) => d.event === 'stopped'));
    });

    it('a worker alone fires a cron trigger, and with up and the worker both watching, every slot fires once', async () => {
      const { pipeline } = await fx.service.apply(parsePipelineYaml(`name: every-second
steps:
  - { name: tick, type: processing, command: "true" }
triggers:
  - { name: each-second, type: cron, schedule: "* * * * * *" }
`, 'cron.yaml', fx.dir));
      const cronRuns = async () => (await fx.service.executions({ pipeline: pipeline.name, limit: 1000 })).filter((e) => e.trigger.type === 'cron');
      const w = await worker();
      const alone = await w.until('the worker alone to fire the trigger and run the execution', async () => {
        const runs = await cronRuns();
        return runs.find((e) => e.state === 'succeeded');
      });
      assert.equal(alone.trigger.by, 'cron:each-second');

      await up();
      const before = (await cronRuns()).length;
      // Both processes tick every second; several slots pass while both watch.
      await w.until('slots to fire while up and the worker both run', async () => ((await cronRuns()).length >= before + 5 ? true : undefined));
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes.map((p) => p.exited));
      const slots = (await cronRuns()).map((e) => String((e.trigger.detail as { slot: string }).slot));
      assert.equal(new Set(slots).size, slots.length, `a slot fired twice: ${slots.sort().join(', ')}`);
    });
  });
}
