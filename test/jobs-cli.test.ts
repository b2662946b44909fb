import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../src/core/config.js';
import { openDatabase, type Database } from '../src/storage/database.js';
import { platformMigrations } from '../src/platform/migrations.js';
import { JobQueue } from '../src/storage/queue/job-queue.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { runCapstan, type CliRunOptions } from './support/capstan-cli.js';

/** Runs `capstan <args>`; with `onStdout`, the callback sees output as it arrives (to signal a long-running command). */
const capstan = (args: string[], env: Record<string, string>, onStdout?: CliRunOptions['onStdout']) => runCapstan(args, { env, onStdout });

describe('capstan jobs and capstan worker', () => {
  let home: string;
  let db: Database;
  let queue: JobQueue;
  const env = () => ({ CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'silent' });

  before(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'capstan-jobs-cli-'));
    const config = compileConfig({ flags: { home }, env: {}, cwd: home });
    db = await openDatabase(config.databaseUrl, { migrations: platformMigrations });
    queue = new JobQueue(db, config.queue);
  });
  after(async () => {
    await db?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('lists, shows and cancels jobs on the embedded database, and fails with a code and exit 1 on a bad state', async () => {
    const job = await queue.enqueue('demo.echo', { hello: 'world' }, { queue: 'cli' });
    const list = await capstan(['jobs', 'list', '--queue', 'cli', '--json'], env());
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).jobs.map((j: { id: string }) => j.id), [job.id]);

    const show = await capstan(['jobs', 'show', job.id], env());
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /state:\s+queued/);
    assert.match(show.stdout, /payload:\s+\{"hello":"world"\}/);

    const cancel = await capstan(['jobs', 'cancel', job.id, '--json'], env());
    assert.equal(JSON.parse(cancel.stdout).state, 'cancelled');
    const again = await capstan(['jobs', 'cancel', job.id], env());
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `error: job ${job.id} is cancelled; only queued jobs can be cancelled (CAPSTAN_QUEUE_JOB_STATE_INVALID)\n`);

    const bad = await capstan(['jobs', 'list', '--state', 'finished'], env());
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--state must be one of queued, running, succeeded, dead, cancelled/);
  });

  it('capstan worker runs until SIGTERM, then releases the leases of unfinished jobs and exits 0', async () => {
    let signalled = false;
    const run = await capstan(['worker', '--concurrency', '2', '--queues', 'nothing-here', '--json'], env(), (out, kill) => {
      if (out.includes('"started"') && !signalled) {
        signalled = true;
        kill('SIGTERM');
      }
    });
    assert.equal(run.code, 0, run.stderr);
    const docs = run.stdout.trim().split(/\n(?=\{)/).map((s) => JSON.parse(s));
    assert.equal(docs[0].event, 'started');
    assert.equal(docs[0].concurrency, 2);
    assert.deepEqual(docs[0].queues, ['nothing-here']);
    assert.equal(docs[1].event, 'stopped');
    assert.equal(docs[1].signal, 'SIGTERM');
  });

  describe('against a server (--url)', () => {
    let t: TestServer;
    let adminKey: string;

    before(async () => {
      t = await startTestServer({ 'server.auth': true });
      adminKey = (await t.platform.apiKeys.create('admin', 'admin')).key;
    });
    after(() => t?.dispose());

    it('retries a dead job and reports state errors with the server\'s code', async () => {
      const { queue: remoteQueue } = t.platform;
      const job = await remoteQueue.enqueue('demo.fail', {}, { queue: 'remote' });
      await remoteQueue.lease('wrk_test', { queues: ['remote'] });
      await remoteQueue.fail(job.id, 'wrk_test', new Error('bad input'), { retryable: false });
      const remote = { CAPSTAN_URL: t.url, CAPSTAN_API_KEY: adminKey };

      const list = await capstan(['jobs', 'list', '--state', 'dead', '--json'], remote);
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(JSON.parse(list.stdout).jobs.map((j: { id: string }) => j.id), [job.id]);
      const retry = await capstan(['jobs', 'retry', job.id, '--json'], remote);
      assert.equal(retry.code, 0, retry.stderr);
      assert.equal(JSON.parse(retry.stdout).state, 'queued');
      const again = await capstan(['jobs', 'retry', job.id, '--json'], remote);
      assert.equal(again.code, 1);
      assert.equal(JSON.parse(again.stdout).code, 'CAPSTAN_QUEUE_JOB_STATE_INVALID');
      const missing = await capstan(['jobs', 'show', 'job_nope'], remote);
      assert.equal(missing.stderr, 'error: no job "job_nope" (CAPSTAN_QUEUE_JOB_NOT_FOUND)\n');
    });
  });
});
