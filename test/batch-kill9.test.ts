import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BatchContext } from '../src/batch/index.js';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { startS3TestServer, type S3TestServer } from '../src/storage/test-support/s3-test-server.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { rankingRecord } from './batch-support.js';
import { CapstanProcess, cliJson, cliProblem, runCapstan } from './support/capstan-cli.js';

const RECORDS = 6_000;

// A `capstan batch run --wait` process is SIGKILLed in the middle of a job (some shards committed,
// others running); `capstan batch status --wait` in a new process resumes it. The output must equal,
// byte for byte, the output of an uninterrupted run of the same job: every input line exactly once.
for (const factory of await testDatabases()) {
  describe(`batch transform across kill -9 (${factory.name}${factory.name === 'postgres' ? ' + S3' : ''})`, { skip: factory.skip }, () => {
    let home: string;
    let database: TestDatabase;
    let s3: S3TestServer | undefined;
    let platform: Platform;
    let env: Record<string, string>;
    let input: string;
    const uri = (key: string) => platform.artifacts.uriFor(key);
    const read = async (u: string) => (await platform.artifacts.get(platform.artifacts.keyFor(u))).toString('utf8');

    before(async () => {
      home = mkdtempSync(path.join(os.tmpdir(), 'capstan-batch-kill-'));
      database = await factory.create();
      env = { CAPSTAN_HOME: home, CAPSTAN_DATABASE_URL: database.url, CAPSTAN_QUEUE_LEASE_MS: '1500', CAPSTAN_QUEUE_HEARTBEAT_MS: '300', CAPSTAN_QUEUE_POLL_MS: '50' };
      if (factory.name === 'postgres') {
        s3 = await startS3TestServer();
        const bucket = await s3.createBucket();
        Object.assign(env, { CAPSTAN_ARTIFACTS: `s3://${bucket}/capstan`, CAPSTAN_S3_ENDPOINT: s3.endpoint, CAPSTAN_S3_ACCESS_KEY_ID: 'S3RVER', CAPSTAN_S3_SECRET_ACCESS_KEY: 'S3RVER' });
      }
      platform = await openPlatform({ config: compileConfig({ flags: {}, env, cwd: home }), logger: silentLogger() });
      const fixture = writeNcfPackage(path.join(home, 'pkg'));
      const v = await registerApproved(platform.registry, 'ncf', { packageDir: fixture.dir });
      await platform.registry.setAlias('ncf', 'champion', v.version);
      const lines = Array.from({ length: RECORDS }, (_, i) => rankingRecord(fixture, i, 5, { n: i }));
      await platform.artifacts.put('in/ranking.jsonl', `${lines.join('\n')}\n`);
      input = uri('in/ranking.jsonl');
    });
    after(async () => {
      await platform?.close();
      await database?.dispose();
      await s3?.dispose();
      rmSync(home, { recursive: true, force: true });
    });

    const args = (out: string) => ['batch', 'run', '--model', 'ncf@champion', '--input', input, '--output', uri(out), '--records-per-shard', '100', '--concurrency', '2', '--wait', '--json'];

    it('resumes a killed job and writes every input line exactly once, as an uninterrupted run does', async () => {
      const reference = cliJson(await runCapstan(args('out/reference'), { env }));
      assert.equal(reference.state, 'Completed', reference.failureReason ?? '');
      const expected = await read(`${reference.output}/ranking.jsonl.out`);
      assert.equal(expected.trimEnd().split('\n').length, RECORDS);

      const killed = new CapstanProcess(args('out/killed'), { env });
      const id = await killed.until('the job id', (p) => /batch job (bj_\w+)/.exec(p.stderr)?.[1]);
      const batch = platform.context<BatchContext>('batch').batch;
      await pollUntil('some shards committed', async () => ((await batch.get(id)).shards.done >= 10 ? true : undefined), { deadlineMs: 120_000, intervalMs: 20 });
      await killed.stop('SIGKILL');
      const mid = await batch.get(id);
      assert.equal(mid.state, 'InProgress', 'the job was killed before it ended');
      assert.ok(mid.shards.done < mid.shards.total, `killed after ${mid.shards.done} of ${mid.shards.total} shards`);

      const resumed = cliJson(await runCapstan(['batch', 'status', id, '--wait', '--json'], { env }));
      assert.equal(resumed.state, 'Completed', resumed.failureReason ?? '');
      assert.deepEqual(resumed.records, { total: RECORDS, done: RECORDS, failed: 0 });
      const actual = await read(`${resumed.output}/ranking.jsonl.out`);
      assert.equal(actual.trimEnd().split('\n').length, RECORDS);
      assert.ok(actual === expected, 'the resumed output differs from the uninterrupted one');
      const logs = cliJson(await runCapstan(['batch', 'logs', id, '--json'], { env }));
      assert.equal(logs.filter((l: { message: string }) => /^shard \d+ committed/.test(l.message)).length, resumed.shards.total, 'each shard committed once');
    });

    it('refuses a bad job from the CLI with its code and creates nothing', async () => {
      const before = (await platform.context<BatchContext>('batch').batch.list()).length;
      const outside = cliProblem(await runCapstan(['batch', 'run', '--model', 'ncf@champion', '--input', 'file:///etc/hosts', '--output', uri('out/x'), '--json'], { env }));
      assert.equal(outside.code, 'CAPSTAN_BATCH_INPUT_INVALID');
      assert.match(outside.detail, /outside the artifact store/);
      const unknown = cliProblem(await runCapstan(['batch', 'run', '--model', 'nosuch@champion', '--input', input, '--output', uri('out/x'), '--json'], { env }));
      assert.equal(unknown.code, 'CAPSTAN_BATCH_MODEL_NOT_FOUND');
      const strategy = cliProblem(await runCapstan(['batch', 'run', '--model', 'ncf@champion', '--input', input, '--output', uri('out/x'), '--strategy', 'all', '--json'], { env }));
      assert.equal(strategy.code, 'CAPSTAN_REQUEST_INVALID');
      assert.match(strategy.detail, /--strategy must be one of single, multi/);
      assert.equal((await platform.context<BatchContext>('batch').batch.list()).length, before);
    });
  });
}
