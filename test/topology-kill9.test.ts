import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import type { ExecutionRecord } from '../src/pipelines/execution.js';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import type { BatchContext, BatchJob } from '../src/batch/index.js';
import { BATCH_TERMINAL_STATES } from '../src/batch/index.js';
import type { Deployment, RolloutService } from '../src/rollouts/index.js';
import { writeNcfPackage, type NcfFixture } from '../src/serving/test-support/ncf-package-fixture.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { startS3TestServer, type S3TestServer } from '../src/storage/test-support/s3-test-server.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { rankingRecord } from './batch-support.js';
import { CapstanProcess, cliJson, runCapstan } from './support/capstan-cli.js';

const postgres = (await testDatabases()).find((f) => f.name === 'postgres')!;
const until = <T>(what: string, probe: () => Promise<T | undefined>) => pollUntil(what, probe, { deadlineMs: 300_000, intervalMs: 100 });

// The scale-out topology on one machine: 2 API servers + 3 workers + 2 serving processes, all separate
// `capstan` processes on PostgreSQL + S3 (s3rver). While a pipeline, a batch transform job and a
// linear rollout run and invocations flow, one worker (the one running the current step), one serving
// process and one API server are killed with -9, one at a time. Checked: the execution finishes (no
// progress lost, finished steps never rerun), no step runs twice at once (a ledger written by the
// steps themselves), the batch job completes with every input record in its output exactly once, the
// rollout reaches 100 % green (another worker takes over its lease), invocations fail only on the
// killed serving process, the surviving API server answers.
describe('multi-process topology on PostgreSQL + s3rver under kill -9', { skip: postgres.skip }, () => {
  let s3: S3TestServer;
  let db: TestDatabase;
  let home: string;
  let platform: Platform;
  let env: Record<string, string>;
  let fixture: NcfFixture;
  const procs: CapstanProcess[] = [];
  const BATCH_RECORDS = 4000;

  before(async () => {
    s3 = await startS3TestServer();
    const bucket = await s3.createBucket();
    db = await postgres.create();
    home = mkdtempSync(path.join(os.tmpdir(), 'capstan-topology-'));
    env = {
      CAPSTAN_HOME: home,
      CAPSTAN_DATABASE_URL: db.url,
      CAPSTAN_ARTIFACTS: `s3://${bucket}/capstan`,
      CAPSTAN_S3_ENDPOINT: s3.endpoint,
      CAPSTAN_S3_ACCESS_KEY_ID: 'S3RVER',
      CAPSTAN_S3_SECRET_ACCESS_KEY: 'S3RVER',
      CAPSTAN_LOG_LEVEL: 'error',
      CAPSTAN_PIPELINES_LEASE_MS: '3000',
      CAPSTAN_PIPELINES_KILL_GRACE_MS: '200',
      // Batch shards of the killed worker are leased again after 10 s; shorter leases starve under load.
      CAPSTAN_QUEUE_LEASE_MS: '10000',
      CAPSTAN_QUEUE_HEARTBEAT_MS: '1000',
      CAPSTAN_ROLLOUTS_LEASE_MS: '3000',
      CAPSTAN_ROLLOUTS_TICK_MS: '200',
      CAPSTAN_SERVING_STATS_FLUSH_MS: '200',
    };
    platform = await openPlatform({ config: compileConfig({ env, cwd: home }), logger: silentLogger() });
    fixture = writeNcfPackage(path.join(home, 'pkg'), { users: 10, items: 30, seed: 1 });
    await registerApproved(platform.registry, 'ncf', { packageDir: fixture.dir });
    await registerApproved(platform.registry, 'ncf', { packageDir: writeNcfPackage(path.join(home, 'pkg2'), { users: 10, items: 30, seed: 2 }).dir });
    await platform.registry.setAlias('ncf', 'champion', 1);
    await platform.artifacts.put('in/ranking.jsonl', `${Array.from({ length: BATCH_RECORDS }, (_, i) => rankingRecord(fixture, i, 5, { n: i })).join('\n')}\n`);
  });
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await platform?.close();
    await db?.dispose();
    await s3?.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  const start = async (kind: string, args: string[]): Promise<{ kind: string; p: CapstanProcess; url?: string }> => {
    const p = new CapstanProcess([...args, '--json'], { cwd: home, env });
    procs.push(p);
    const doc = await p.until(`${kind} to start`, (x) => x.documents()[0], 180_000);
    return { kind, p, url: doc.url };
  };

  it('loses no job, runs no step twice at once, keeps pipeline progress, fails invocations only on the killed serving process', async () => {
    cliJson(await runCapstan(['endpoints', 'create', 'ncf', '--model', 'models:/ncf/1', '--json'], { env, cwd: home, timeoutMs: 120_000 }));
    const ledger = path.join(home, 'ledger.txt');
    const script = [
      `L=${ledger}; LOCK=${home}/lock-$CAPSTAN_STEP`,
      // A live earlier run of this step (not a zombie: a SIGKILLed orphan waits for init to reap it).
      'if [ -e "$LOCK" ]; then P=$(cat "$LOCK"); S=$(awk "{print \\$3}" /proc/$P/stat 2>/dev/null); if [ -n "$S" ] && [ "$S" != Z ] && [ "$S" != X ]; then echo "CONCURRENT $CAPSTAN_STEP $P $S" >> "$L"; fi; fi',
      'echo $$ > "$LOCK"',
      'echo "start $CAPSTAN_STEP $CAPSTAN_ATTEMPT $$ $PPID" >> "$L"',
      'sleep 5',
      'echo x > "$CAPSTAN_OUTPUT_DIR/o/x"',
      'echo "end $CAPSTAN_STEP $CAPSTAN_ATTEMPT $$" >> "$L"',
    ].join('; ');
    const steps = ['s1', 's2', 's3', 's4'].map((n, i) => `  - name: ${n}\n    type: processing\n    command: [sh, -c, '${script}']\n    outputs: [o]\n${i ? `    depends_on: [s${i}]\n` : ''}`);
    const { pipeline } = await platform.pipelines.apply(parsePipelineYaml(`name: topology\nsteps:\n${steps.join('')}`, 't.yaml', home));

    const apis = [await start('api', ['server', '--port', '0']), await start('api', ['server', '--port', '0'])];
    const serving = [await start('serving', ['server', '--port', '0']), await start('serving', ['server', '--port', '0'])];
    const workers = [await start('worker', ['worker']), await start('worker', ['worker']), await start('worker', ['worker'])];

    // Load: invocations round-robin over both serving processes until the pipeline ends.
    const body = JSON.stringify({ user: [1000, 1001], item: [5001, 5002] });
    const stats = { ok: 0, failedOnKilled: 0, failedOnLive: [] as string[] };
    const killed: { serving?: string } = {};
    let loading = true;
    const load = (async () => {
      for (let i = 0; loading; i++) {
        const target = serving[i % 2].url!;
        // After the kill nobody routes to the dead process (a Service drops it); only requests in flight then may fail.
        if (target === killed.serving) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        try {
          const res = await fetch(`${target}/endpoints/ncf/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          if (res.ok) stats.ok++;
          else if (killed.serving && target === serving[0].url) stats.failedOnKilled++;
          else stats.failedOnLive.push(`${res.status} ${await res.text()}`);
        } catch (err) {
          if (killed.serving && target === serving[0].url) stats.failedOnKilled++;
          else stats.failedOnLive.push(String(err));
        }
      }
    })();

    const exec = await platform.pipelines.start(pipeline.name);
    const batch = platform.context<BatchContext>('batch').batch;
    const job = await batch.create({ model: 'ncf@champion', input: platform.artifacts.uriFor('in/ranking.jsonl'), output: platform.artifacts.uriFor('out/ranking'), recordsPerShard: 50, concurrency: 1 });
    const rollouts = platform.context<RolloutService>('rollouts');
    const deployment = await rollouts.start('ncf', { model: 'models:/ncf/2', policy: { strategy: 'linear', linearStepPercent: 25, waitSeconds: 4, evaluationIntervalSeconds: 1 } });
    const lines = () => (existsSync(ledger) ? readFileSync(ledger, 'utf8').trim().split('\n') : []);
    // Kill -9 the worker running s2, while s2 runs.
    const s2 = await until('s2 to start', async () => lines().find((l) => l.startsWith('start s2 ')));
    const ownerPid = Number(s2.split(' ')[4]);
    const owner = workers.find((w) => w.p.child.pid === ownerPid);
    assert.ok(owner, `s2 runs under one of the workers (parent ${ownerPid})`);
    const finishedBeforeKill = lines().filter((l) => l.startsWith('end ')).map((l) => l.split(' ')[1]);
    owner.p.kill('SIGKILL');
    appendFileSync(ledger, 'killed worker\n');
    // Then a serving process, then an API server.
    killed.serving = serving[0].url;
    serving[0].p.kill('SIGKILL');
    apis[0].p.kill('SIGKILL');
    await Promise.all([owner.p.exited, serving[0].p.exited, apis[0].p.exited]);

    const done = (await until('the execution to end', async () => {
      const e = await platform.pipelines.execution(exec.id);
      return ['succeeded', 'failed', 'cancelled'].includes(e.state) ? e : undefined;
    })) as ExecutionRecord;
    const batchDone = (await until('the batch job to end', async () => {
      const j = await batch.get(job.id);
      return BATCH_TERMINAL_STATES.includes(j.state) ? j : undefined;
    })) as BatchJob;
    const rolled = (await until('the rollout to end', async () => {
      const d = await rollouts.get('ncf', deployment.id);
      return ['Running', 'Paused'].includes(d.status) ? undefined : d;
    })) as Deployment;
    loading = false;
    await load;

    assert.equal(batchDone.state, 'Completed', batchDone.failureReason ?? '');
    assert.deepEqual(batchDone.records, { total: BATCH_RECORDS, done: BATCH_RECORDS, failed: 0 });
    const output = (await platform.artifacts.get(platform.artifacts.keyFor(`${batchDone.output}/ranking.jsonl.out`))).toString('utf8').trimEnd().split('\n');
    assert.equal(output.length, BATCH_RECORDS, 'one output line per input record, none twice');
    assert.equal(rolled.status, 'Succeeded', JSON.stringify(rolled));
    const ep = await platform.serving.describe('ncf');
    assert.deepEqual(ep.variants.map((v) => [v.resolved.version, v.weight]), [[2, 1]], 'green alone serves after the rollout');

    const all = lines();
    assert.equal(done.state, 'succeeded', JSON.stringify(done.steps));
    assert.deepEqual(all.filter((l) => l.startsWith('CONCURRENT')), [], all.join('\n'));
    for (const s of finishedBeforeKill) assert.equal(all.filter((l) => l.startsWith(`start ${s} `)).length, 1, `${s} finished before the kill and never ran again`);
    // The killed worker's step may still finish on its own before the takeover (its result is lost
    // with its worker); what matters is that the runs never overlapped (no CONCURRENT line above).
    for (const s of ['s1', 's2', 's3', 's4']) assert.ok(all.some((l) => l.startsWith(`end ${s} `)), `${s} finished`);
    for (const s of ['s3', 's4']) assert.equal(all.filter((l) => l.startsWith(`start ${s} `)).length, 1, `${s} (after the kill) ran once`);
    assert.deepEqual(stats.failedOnLive, [], 'invocations on the surviving serving process never failed');
    assert.ok(stats.ok > 0);
    const res = await fetch(`${apis[1].url}/api/v1/pipelines/executions/${exec.id}`);
    assert.ok(res.status < 500, `the surviving API server answers (${res.status})`);
    // The figures, for docs/scale.md.
    console.log(JSON.stringify({ invocations_ok: stats.ok, invocations_failed_on_killed_serving: stats.failedOnKilled, s2_attempts: done.steps.find((s) => s.name === 's2')?.attempts, batch_records: batchDone.records, rollout_steps: rolled.steps?.length, ledger: all }));
  });
});
