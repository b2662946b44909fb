import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { compileConfig } from '../src/core/config.js';
import { JobQueue } from '../src/storage/queue/job-queue.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/queue-worker.ts', import.meta.url));
const JOBS = 2000;

interface Execution {
  id: string;
  job_id: string;
  worker: string;
  attempt: number;
  started_at: number;
  ended_at: number | null;
}

/** A worker process and the JSON lines it printed. */
class WorkerProcess {
  readonly child: ChildProcess;
  readonly events: Record<string, any>[] = [];
  readonly exited: Promise<number | null>;
  private stderr = '';

  constructor(url: string, leaseMs: number, heartbeatMs: number, concurrency: number) {
    this.child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, url, String(leaseMs), String(heartbeatMs), String(concurrency), 'NORMAL'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line.startsWith('{')) this.events.push(JSON.parse(line));
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Resolves with the first event of this kind; fails (never hangs) when the process exits or the deadline passes. */
  async event(kind: string, deadlineMs = 300_000): Promise<Record<string, any>> {
    const found = await waitFor(
      () => this.events.find((e) => e.event === kind) ?? (this.child.exitCode !== null ? 'exited' : undefined),
      deadlineMs,
      `worker event ${kind}`,
    ).catch((err: Error) => assert.fail(`${err.message}; worker stderr:\n${this.stderr}`));
    if (found === 'exited') assert.fail(`worker exited (${this.child.exitCode}) before "${kind}"; stderr:\n${this.stderr}`);
    return found as Record<string, any>;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** Polls `probe` until it returns a value; throws after the deadline so a broken queue fails instead of hanging. */
const waitFor = <T>(probe: () => T | undefined | Promise<T | undefined>, deadlineMs: number, what: string) => pollUntil(what, probe, { deadlineMs });

function queueFor(t: TestDatabase, leaseMs: number): JobQueue {
  const settings = { ...compileConfig({ env: {}, cwd: process.cwd() }).queue, leaseMs, heartbeatMs: Math.floor(leaseMs / 4) };
  return new JobQueue(t.db, settings);
}

async function createExecutionsTable(t: TestDatabase): Promise<void> {
  await t.db.kysely.schema
    .createTable('queue_test_executions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('worker', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('ended_at', 'bigint')
    .execute();
}

async function executions(t: TestDatabase): Promise<Execution[]> {
  return t.db.kysely.selectFrom('queue_test_executions').selectAll().orderBy('started_at').execute() as Promise<Execution[]>;
}

for (const factory of await testDatabases()) {
  describe(`job queue with two worker processes (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestDatabase;
    const workers: WorkerProcess[] = [];
    const spawnWorker = (leaseMs: number, concurrency: number) => {
      const w = new WorkerProcess(t.url, leaseMs, Math.floor(leaseMs / 4), concurrency);
      workers.push(w);
      return w;
    };

    before(async () => {
      // Per-commit fsync measures the disk, not the queue: SQLite runs with synchronous=NORMAL (WAL) in
      // every process and this throwaway PostgreSQL database without synchronous_commit. A killed worker
      // process loses nothing either way; only an OS or server crash could.
      t = await factory.create({ synchronous: 'NORMAL' });
      if (factory.name === 'postgres') await sql.raw(`alter database "${new URL(t.url).pathname.slice(1)}" set synchronous_commit = off`).execute(t.db.kysely);
      await createExecutionsTable(t);
    });
    after(async () => {
      for (const w of workers) w.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
      await t?.dispose();
    });

    it(`drains ${JOBS} jobs: every job succeeds exactly once and no job runs twice at the same time`, async (ctx) => {
      const leaseMs = 5000;
      const a = spawnWorker(leaseMs, 8);
      const b = spawnWorker(leaseMs, 8);
      await Promise.all([a.event('ready'), b.event('ready')]);

      const queue = queueFor(t, leaseMs);
      const started = Date.now();
      const jobs = await queue.enqueueMany(Array.from({ length: JOBS }, (_, n) => ({ type: 'record', payload: { n }, options: { queue: 'drain' } })));
      const enqueuedMs = Date.now() - started;
      const stats = await waitFor(async () => {
        const s = await queue.stats();
        if (s.dead > 0) assert.fail(`${s.dead} jobs went dead`);
        return s.succeeded === JOBS ? s : undefined;
      }, 1_200_000, `${JOBS} jobs to succeed`);
      const drainedMs = Date.now() - started;
      ctx.diagnostic(`${factory.name}: enqueued ${JOBS} jobs in ${enqueuedMs} ms; drained by two worker processes in ${drainedMs} ms (${Math.round((JOBS * 1000) / drainedMs)} jobs/s)`);
      assert.equal(stats.queued + stats.running, 0);

      a.kill('SIGTERM');
      b.kill('SIGTERM');
      const [sa, sb] = await Promise.all([a.event('stopped'), b.event('stopped')]);
      assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0], 'both workers exit cleanly on SIGTERM');
      // An ack moves a job from running to succeeded once; every job succeeded, so each was acknowledged exactly once.
      assert.equal(sa.succeeded + sb.succeeded, JOBS, 'the two workers acknowledged every job exactly once between them');
      assert.ok(sa.succeeded > 0 && sb.succeeded > 0, `both workers took part (${sa.succeeded} / ${sb.succeeded})`);

      const runs = await executions(t);
      const byJob = new Map<string, Execution[]>();
      for (const r of runs) byJob.set(r.job_id, [...(byJob.get(r.job_id) ?? []), r]);
      assert.equal(byJob.size, JOBS, 'every job ran');
      let rerun = 0;
      for (const job of jobs) {
        const list = (byJob.get(job.id) ?? []).sort((x, y) => x.started_at - y.started_at);
        assert.ok(list.length >= 1, `job ${job.id} never ran`);
        if (list.length > 1) rerun++;
        for (let i = 1; i < list.length; i++) {
          assert.ok(list[i].started_at >= list[i - 1].ended_at!, `two executions of ${job.id} overlap: ${JSON.stringify(list)}`);
        }
      }
      // At-least-once: a worker that cannot heartbeat for a whole lease (a starved process) loses the job to
      // the other worker, which runs it again afterwards. Only one of them can acknowledge it.
      ctx.diagnostic(`${factory.name}: ${rerun} of ${JOBS} jobs ran more than once (after an expired lease), never overlapping; attempts whose outcome was discarded: ${sa.abandoned + sb.abandoned}`);
      const rows = await t.db.kysely.selectFrom('jobs').select('state').where('queue', '=', 'drain').execute();
      assert.equal(rows.length, JOBS);
      assert.ok(rows.every((r) => r.state === 'succeeded'), 'every job succeeded');
    });

    it('runs a job again on another worker after the first is killed with SIGKILL mid-job, with attempts 2', async () => {
      const leaseMs = 1000;
      const queue = queueFor(t, leaseMs);
      const first = spawnWorker(leaseMs, 1);
      const { worker: firstId } = await first.event('ready');
      const job = await queue.enqueue('hang', {}, { queue: 'crash' });
      await waitFor(async () => (await executions(t)).find((r) => r.job_id === job.id), 120_000, 'the first execution to start');

      first.kill('SIGKILL');
      await first.exited;
      const orphan = await queue.get(job.id);
      assert.equal(orphan.state, 'running');
      assert.equal(orphan.leaseOwner, firstId);
      const leaseExpiresAt = Date.parse(orphan.leaseExpiresAt!);

      const second = spawnWorker(leaseMs, 1);
      const { worker: secondId } = await second.event('ready');
      const done = await waitFor(async () => {
        const j = await queue.get(job.id);
        return j.state === 'running' || j.state === 'queued' ? undefined : j;
      }, 120_000, 'the job to finish on the second worker');
      assert.equal(done.state, 'succeeded');
      assert.equal(done.attempts, 2, 'the attempt count shows the job ran twice');
      assert.deepEqual(done.result, { worker: secondId });

      const runs = (await executions(t)).filter((r) => r.job_id === job.id);
      assert.equal(runs.length, 2);
      assert.deepEqual(runs.map((r) => [r.worker, r.attempt]), [[firstId, 1], [secondId, 2]]);
      assert.equal(runs[0].ended_at, null, 'the killed execution never finished');
      assert.ok(runs[1].started_at >= leaseExpiresAt, 'the second worker took the job only after its lease expired');
      second.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    });
  });
}
