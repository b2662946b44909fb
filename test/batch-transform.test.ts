import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import { buildApp } from '../src/server/app.js';
import { startS3TestServer, type S3TestServer } from '../src/storage/test-support/s3-test-server.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { openBatchFixture, rankingRecord, type BatchFixture } from './batch-support.js';

async function rejects(fn: () => Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(fn, (err) => {
    assert.ok(isCapstanError(err), String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

const setups = (await testDatabases()).flatMap((factory) => [{ factory, s3: false }, ...(factory.name === 'postgres' ? [{ factory, s3: true }] : [])]);

for (const { factory, s3: onS3 } of setups) {
  describe(`batch transform jobs (${factory.name}${onS3 ? ' + S3' : ''})`, { skip: factory.skip }, () => {
    let fx: BatchFixture;
    let s3: S3TestServer | undefined;
    before(async () => {
      if (onS3) s3 = await startS3TestServer();
      fx = await openBatchFixture(factory, s3 ? { server: s3, bucket: await s3.createBucket() } : undefined);
    });
    after(async () => {
      await fx?.dispose();
      await s3?.dispose();
    });

    it('scores a JSONL input by the champion alias, output in input order, Completed', async () => {
      const records = Array.from({ length: 45 }, (_, u) => rankingRecord(fx.fixture, u));
      const input = await fx.put('in/a/ranking.jsonl', `${records.join('\n')}\n`);
      const job = await fx.batch.batch.create({ model: 'ncf@champion', input, output: fx.test.platform.artifacts.uriFor('out/a'), recordsPerShard: 10, concurrency: 2 });
      assert.equal(job.state, 'Planning');
      assert.deepEqual(job.model, { ref: 'ncf@champion', name: 'ncf', version: 1 });
      const done = await fx.runToEnd(job.id);
      assert.equal(done.state, 'Completed', done.failureReason ?? '');
      assert.deepEqual(done.records, { total: 45, done: 45, failed: 0 });
      assert.deepEqual(done.shards, { total: 5, done: 5 });
      const out = (await fx.read(`${job.output}/ranking.jsonl.out`)).trimEnd().split('\n');
      assert.equal(out.length, 45);
      // Each output line is the model's answer to the input line at the same position.
      const direct = await fx.test.platform.serving.openModel('ncf/1');
      try {
        for (const [i, r] of records.entries()) assert.equal(out[i], (await direct.invoke(r, 'application/json')).body);
      } finally {
        await direct.close();
      }
      assert.equal(done.failureUri, null);
      const logs = await fx.batch.batch.logs(job.id);
      assert.match(logs.map((l) => l.message).join('\n'), /planned 5 shard\(s\), 45 record\(s\)[\s\S]*finished Completed/);
    });

    it('joins the input, applies input and output filters, and sends failures to the failure file with line numbers', async () => {
      // An id beside the request under "req"; line 2 is malformed, line 3 empty (not a record), line 5 too large.
      const rec = (id: string, u: number) => JSON.stringify({ id, req: JSON.parse(rankingRecord(fx.fixture, u, 3)) });
      const lines = [rec('a', 1), '{"id": "broken", ', '', rec('c', 2), JSON.stringify({ id: 'big', req: { user: fx.fixture.userIds[0], items: Array(4000).fill(fx.fixture.itemIds[0]) } }), rec('e', 3)];
      const input = await fx.put('in/b/x.jsonl', lines.join('\n'));
      const job = await fx.batch.batch.create({
        model: 'ncf/1',
        input,
        output: fx.test.platform.artifacts.uriFor('out/b'),
        joinSource: 'Input',
        inputFilter: '$.req',
        outputFilter: "$['id','SageMakerOutput']",
        maxPayloadMb: 0.01,
        failureThreshold: 0.5,
        strategy: 'SingleRecord',
      });
      const done = await fx.runToEnd(job.id);
      assert.equal(done.state, 'CompletedWithFailures');
      assert.deepEqual(done.records, { total: 5, done: 5, failed: 2 });
      const out = (await fx.read(`${job.output}/x.jsonl.out`)).trimEnd().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(out.map((o) => o.id), ['a', 'c', 'e']);
      assert.deepEqual(Object.keys(out[0]), ['id', 'SageMakerOutput']);
      assert.equal(out[0].SageMakerOutput.items.length, 3);
      const failures = (await fx.read(done.failureUri!)).trimEnd().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(failures.map((f) => [f.file, f.line]), [['x.jsonl', 2], ['x.jsonl', 5]]);
      assert.match(failures[0].reason, /malformed JSON/);
      assert.match(failures[1].reason, /larger than maxPayloadMb/);
    });

    it('reads CSV, filters and joins by column, with malformed lines in the failure file', async () => {
      const input = await fx.put('in/e/rows.csv', 'a,1,2\n"b,2,2\nc,3,4\n');
      const job = await fx.batch.batch.create({ model: 'csvsum/1', input, output: fx.test.platform.artifacts.uriFor('out/e'), inputFilter: '$[1:]', joinSource: 'Input', failureThreshold: 0.5 });
      const done = await fx.runToEnd(job.id);
      assert.equal(done.state, 'CompletedWithFailures', done.failureReason ?? '');
      assert.equal(await fx.read(`${job.output}/rows.csv.out`), 'a,1,2,3\nc,3,4,7\n');
      const failures = (await fx.read(done.failureUri!)).trimEnd().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(failures.map((f) => [f.line, f.reason]), [[2, 'malformed CSV: unbalanced quotes']]);
      const filtered = await fx.batch.batch.create({ model: 'csvsum/1', input: await fx.put('in/f/rows.csv', 'a,1,2\n'), output: fx.test.platform.artifacts.uriFor('out/f'), inputFilter: '$[1,2]', joinSource: 'Input', outputFilter: '$[0,-1]' });
      assert.equal((await fx.runToEnd(filtered.id)).state, 'Completed');
      assert.equal(await fx.read(`${filtered.output}/rows.csv.out`), 'a,3\n');
    });

    it('reads every object under a prefix, one output each, and with split None each file is one record', async () => {
      await fx.put('in/g/day-1.jsonl', `${rankingRecord(fx.fixture, 1)}\n${rankingRecord(fx.fixture, 2)}\n`);
      await fx.put('in/g/more/day-2.jsonl', `${rankingRecord(fx.fixture, 3)}\n`);
      const prefix = fx.test.platform.artifacts.uriFor('in/g');
      const job = await fx.batch.batch.create({ model: 'ncf/1', input: `${prefix}/`, output: fx.test.platform.artifacts.uriFor('out/g'), recordsPerShard: 1 });
      const done = await fx.runToEnd(job.id);
      assert.equal(done.state, 'Completed');
      assert.deepEqual(done.records, { total: 3, done: 3, failed: 0 });
      assert.equal((await fx.read(`${job.output}/day-1.jsonl.out`)).trimEnd().split('\n').length, 2);
      assert.equal((await fx.read(`${job.output}/more/day-2.jsonl.out`)).trimEnd().split('\n').length, 1);

      await fx.put('in/h2/one.json', JSON.stringify(JSON.parse(rankingRecord(fx.fixture, 4)), null, 2));
      const whole = await fx.batch.batch.create({ model: 'ncf/1', input: fx.test.platform.artifacts.uriFor('in/h2'), output: fx.test.platform.artifacts.uriFor('out/h2'), splitType: 'None' });
      const wholeDone = await fx.runToEnd(whole.id);
      assert.deepEqual(wholeDone.records, { total: 1, done: 1, failed: 0 });
      assert.equal((await fx.read(`${whole.output}/one.json.out`)).trimEnd().split('\n').length, 1);
    });

    it('ends Failed above the failure threshold', async () => {
      // The NCF handler takes JSON only, so CSV records fail in the model: every record fails.
      const input = await fx.put('in/c/rows.csv', 'a,1\n"b,2\nc,3\n');
      const job = await fx.batch.batch.create({ model: 'ncf/1', input, output: fx.test.platform.artifacts.uriFor('out/c'), failureThreshold: 0.2 });
      assert.equal(job.options.contentType, 'text/csv');
      const done = await fx.runToEnd(job.id);
      assert.equal(done.state, 'Failed');
      assert.match(done.failureReason!, /3 of 3 records failed \(100\.0%\), above the failure threshold of 20%/);
      const failures = (await fx.read(done.failureUri!)).trimEnd().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(failures.map((f) => f.line), [1, 2, 3]);
      assert.match(failures[1].reason, /malformed CSV: unbalanced quotes/);
    });

    it('refuses bad input before creating anything', async () => {
      const before = (await fx.batch.batch.list()).length;
      const queued = (await fx.test.platform.queue.list({ queue: 'batch', limit: 500 })).jobs.length;
      const input = await fx.put('in/d/one.jsonl', `${rankingRecord(fx.fixture, 1)}\n`);
      const out = fx.test.platform.artifacts.uriFor('out/d');
      await rejects(() => fx.batch.batch.create({ model: 'ncf/1', input: 'file:///etc/passwd', output: out }), 'CAPSTAN_BATCH_INPUT_INVALID', /outside the artifact store/);
      await rejects(() => fx.batch.batch.create({ model: 'ncf/1', input: fx.test.platform.artifacts.uriFor('in/missing'), output: out }), 'CAPSTAN_BATCH_INPUT_INVALID', /nothing to read at/);
      await rejects(() => fx.batch.batch.create({ model: 'ncf/1', input: 'in/d/one.jsonl', output: out }), 'CAPSTAN_BATCH_INPUT_INVALID', /is not a URI in the artifact store/);
      await rejects(() => fx.batch.batch.create({ model: 'ncf/1', input, output: 's3://elsewhere/out' }), 'CAPSTAN_BATCH_OUTPUT_INVALID', /outside the artifact store/);
      await rejects(() => fx.batch.batch.create({ model: 'ncf/1', input, output: fx.test.platform.artifacts.uriFor('models/ncf/1') }), 'CAPSTAN_BATCH_OUTPUT_INVALID', /inside a registered model version/);
      await rejects(() => fx.batch.batch.create({ model: 'ncf/1', input, output: fx.test.platform.artifacts.uriFor('batch/x') }), 'CAPSTAN_BATCH_OUTPUT_INVALID', /batch staging area/);
      await rejects(() => fx.batch.batch.create({ model: 'nosuch@champion', input, output: out }), 'CAPSTAN_BATCH_MODEL_NOT_FOUND', /model nosuch@champion does not resolve/);
      await rejects(() => fx.batch.batch.create({ model: 'ncf/1', input, output: out, concurrency: 0 }), 'CAPSTAN_BATCH_OPTIONS_INVALID', /concurrency must be an integer from 1 to 32, got 0/);
      await rejects(() => fx.batch.batch.create({ model: 'ncf/1', input, output: out, strategy: 'Many' as never }), 'CAPSTAN_BATCH_OPTIONS_INVALID', /strategy must be one of SingleRecord, MultiRecord/);
      await rejects(() => fx.batch.batch.create({ model: 'ncf/1', input, output: out, inputFilter: '$..deep' }), 'CAPSTAN_BATCH_FILTER_INVALID', /JSONPath "\$\.\.deep": expected a member name/);
      await rejects(() => fx.batch.batch.create({ model: 'ncf/1', input, output: out, notification: { webhookUrl: 'http://127.0.0.1:9/hook', webhookSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } }), 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /loopback/);
      await rejects(() => fx.batch.batch.get('bj_nosuch'), 'CAPSTAN_BATCH_JOB_NOT_FOUND', /no batch job bj_nosuch/);
      assert.equal((await fx.batch.batch.list()).length, before);
      assert.equal((await fx.test.platform.queue.list({ queue: 'batch', limit: 500 })).jobs.length, queued);
    });

    it('works over HTTP: create, get, logs, list, and problem+json for bad input', async () => {
      const app = await buildApp(fx.test.platform);
      try {
        const input = await fx.put('in/h/one.jsonl', `${rankingRecord(fx.fixture, 2)}\n`);
        const created = await app.inject({ method: 'POST', url: '/api/v1/batch-jobs', payload: { model: 'ncf@champion', input, output: fx.test.platform.artifacts.uriFor('out/h') } });
        assert.equal(created.statusCode, 201, created.body);
        const id = created.json().id;
        assert.equal((await fx.runToEnd(id)).state, 'Completed');
        const got = await app.inject({ method: 'GET', url: `/api/v1/batch-jobs/${id}` });
        assert.equal(got.json().records.done, 1);
        assert.equal(got.json().progress.percent, 100);
        const logs = await app.inject({ method: 'GET', url: `/api/v1/batch-jobs/${id}/logs` });
        assert.match(logs.json().items.at(-1).message, /finished Completed/);
        const listed = await app.inject({ method: 'GET', url: '/api/v1/batch-jobs?limit=1' });
        assert.equal(listed.json().items[0].id, id);
        const bad = await app.inject({ method: 'POST', url: '/api/v1/batch-jobs', payload: { model: 'ncf@champion', input, output: 's3://other/out', failureThreshold: 2 } });
        assert.equal(bad.statusCode, 400);
        assert.equal(bad.json().code, 'CAPSTAN_BATCH_OPTIONS_INVALID');
        assert.match(bad.json().detail, /failureThreshold must be a number from 0 to 1, got 2/);
        const missing = await app.inject({ method: 'GET', url: '/api/v1/batch-jobs/bj_nope' });
        assert.equal(missing.statusCode, 404);
        assert.equal(missing.json().code, 'CAPSTAN_BATCH_JOB_NOT_FOUND');
      } finally {
        await app.close();
      }
    });
  });
}
