import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../src/core/logger.js';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { PipelineService } from '../src/pipelines/pipeline-service.js';
import { openDatabase, type Database } from '../src/storage/database.js';
import { platformMigrations } from '../src/platform/migrations.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { pipelinesFixture, type PipelinesFixture } from './pipelines-support.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';

const until = <T>(what: string, probe: () => Promise<T | undefined>) => pollUntil(what, probe, { deadlineMs: 30_000 });

// Fencing on both dialects: a runner that another scheduler took an execution over from — its lease
// lapsed while it was cut off or paused — must stop its attempt, and nothing it writes afterwards may land.
for (const factory of await testDatabases()) {
  describe(`pipeline attempt fencing (${factory.name})`, { skip: factory.skip }, () => {
    let fx: PipelinesFixture;
    let db2: Database;
    let other: PipelineService;
    before(async () => {
      // The fixture's scheduler is the first runner; `other` is a second scheduler process on the same database.
      fx = await pipelinesFixture(factory, { scheduler: { leaseMs: 60_000 } });
      db2 = await openDatabase(fx.url, { migrations: platformMigrations });
      other = new PipelineService({ db: db2, artifacts: fx.artifacts, logger: silentLogger() }, { scheduler: { leaseMs: 60_000 }, local: { workRoot: path.join(fx.dir, 'work2'), killGraceMs: 200 } });
    });
    after(async () => {
      await other?.close();
      await db2?.close();
      await fx?.dispose();
    });

    it('refuses step and log writes that carry a stale lease or attempt token, and changes nothing', async () => {
      const { pipeline } = await fx.service.apply(parsePipelineYaml('name: tokens\nsteps:\n  - { name: s, type: processing, command: "true" }\n', 't.yaml', fx.dir));
      const exec = await fx.service.start(pipeline.name);
      const store = fx.service.store;
      assert.ok(await store.claim('a', 60_000, exec.id));
      const stale = (await store.takeLease(exec.id, 'a', 60_000))!;
      await db2.kysely.updateTable('pipeline_executions').set({ lease_expires_at: 0 }).where('id', '=', exec.id).execute();
      assert.ok(await store.claim('b', 60_000, exec.id));
      const current = (await store.takeLease(exec.id, 'b', 60_000))!;

      assert.equal(await store.updateStep(exec.id, 's', { state: 'succeeded' }, { lease: stale }), false);
      assert.equal(await store.markRunning(exec.id, stale), false);
      assert.equal(await store.finishExecution(exec.id, 'failed', 'stale', stale), null);
      assert.equal(await store.renew(exec.id, stale, 60_000), false);
      assert.equal(await store.updateStep(exec.id, 's', { state: 'running', attemptToken: 't1' }, { lease: current, attempt: 'not-the-token' }), false);
      assert.equal(await store.updateStep(exec.id, 's', { state: 'running', attempts: 1, attemptToken: 't1' }, { lease: current, attempt: null }), true);
      const row = (n: number) => ({ execution_id: exec.id, pipeline: 'tokens', step: 's', attempt: 1, seq: n, at: Date.now(), stream: 'stdout', line: `line ${n}` });
      assert.equal(await fx.service.logs.insert([row(0)], { lease: current, attempt: 'old' }), false);
      assert.equal(await fx.service.logs.insert([row(1)], { lease: stale, attempt: 't1' }), false);
      assert.equal(await fx.service.logs.insert([row(2)], { lease: current, attempt: 't1' }), true);

      const after = await fx.service.execution(exec.id);
      assert.equal(after.state, 'queued');
      assert.equal(after.steps[0].state, 'running');
      assert.deepEqual((await fx.service.executionLogs(exec.id)).map((l) => l.line), ['line 2']);
    });

    it('a runner whose execution another scheduler took over stops its attempt; only the new attempt\'s state, outputs and log lines land', async () => {
      const marks = path.join(fx.dir, 'marks');
      const pidFile = path.join(fx.dir, 'pid-1');
      const { pipeline } = await fx.service.apply(parsePipelineYaml(`name: takeover
steps:
  - name: s
    type: processing
    outputs: [out]
    command: [sh, -c, 'echo "start $CAPSTAN_ATTEMPT" >> ${marks}; n=3; if [ "$CAPSTAN_ATTEMPT" = 1 ]; then echo $$ > ${pidFile}; n=600; fi; i=0; while [ $i -lt $n ]; do echo "tick $CAPSTAN_ATTEMPT $i"; i=$((i+1)); sleep 0.05; done; echo ok > "$CAPSTAN_OUTPUT_DIR/out/f"; echo "done $CAPSTAN_ATTEMPT" >> ${marks}']
`, 't.yaml', fx.dir));
      const exec = await fx.service.start(pipeline.name);
      const firstRunner = fx.service.scheduler.runNow(exec.id, 50);
      await until('attempt 1 to log', async () => ((await fx.service.executionLogs(exec.id)).some((l) => l.line === 'tick 1 2') ? true : undefined));
      // The first runner's lease lapses as if it had been paused; the second scheduler claims the execution.
      await db2.kysely.updateTable('pipeline_executions').set({ lease_expires_at: 0 }).where('id', '=', exec.id).execute();
      const done = await other.wait(exec.id);
      assert.equal((await firstRunner).state, 'succeeded');

      assert.equal(done.state, 'succeeded', JSON.stringify(done.steps));
      assert.equal(done.steps[0].attempts, 2);
      assert.match(done.steps[0].outputs.out.uri, /\/attempt-2\/out$/);
      assert.deepEqual(readFileSync(marks, 'utf8').trim().split('\n'), ['start 1', 'start 2', 'done 2']);
      assert.ok(existsSync(pidFile));
      const log = await fx.service.executionLogs(exec.id);
      const lastOfFirst = Math.max(...log.filter((l) => l.attempt === 1).map((l) => Date.parse(l.at)));
      const firstOfSecond = Math.min(...log.filter((l) => l.attempt === 2).map((l) => Date.parse(l.at)));
      assert.ok(lastOfFirst <= firstOfSecond, 'no line of attempt 1 after attempt 2 started');
      assert.deepEqual(log.filter((l) => l.attempt === 2 && l.line.startsWith('tick')).map((l) => l.line), ['tick 2 0', 'tick 2 1', 'tick 2 2']);
    });
  });
}
