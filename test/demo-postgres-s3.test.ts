import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startS3TestServer, type S3TestServer } from '../src/storage/test-support/s3-test-server.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { cliJson, runCapstan } from './support/capstan-cli.js';

const postgres = (await testDatabases()).find((f) => f.name === 'postgres')!;

// The recommendation story on the scale-out parts: PostgreSQL for metadata and S3 for artifacts,
// configured only through the environment, with the same commands and the same outcome as the
// embedded default.
describe('capstan demo on PostgreSQL and S3 (s3rver)', { skip: postgres.skip }, () => {
  let s3: S3TestServer;
  let db: TestDatabase;
  let bucket: string;
  let home: string;

  before(async () => {
    s3 = await startS3TestServer();
    bucket = await s3.createBucket();
    db = await postgres.create();
    home = mkdtempSync(path.join(os.tmpdir(), 'capstan-demo-pg-s3-'));
  });
  after(async () => {
    await db?.dispose();
    await s3?.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  it('trains, registers, approves, deploys and serves with metadata in PostgreSQL and artifacts in S3', async () => {
    const env = {
      CAPSTAN_HOME: home,
      CAPSTAN_DATABASE_URL: db.url,
      CAPSTAN_ARTIFACTS: `s3://${bucket}/capstan`,
      CAPSTAN_S3_ENDPOINT: s3.endpoint,
      CAPSTAN_S3_ACCESS_KEY_ID: 'S3RVER',
      CAPSTAN_S3_SECRET_ACCESS_KEY: 'S3RVER',
      CAPSTAN_LOG_LEVEL: 'error',
    };
    const small = ['--users', '120', '--items', '200', '--interactions', '3000', '--epochs', '2', '--hr-threshold', '0.05'];
    const summary = cliJson(await runCapstan(['demo', '--port', '0', '--exit', '--json', ...small], { env, timeoutMs: 240_000 }));
    assert.equal(summary.execution.state, 'succeeded');
    assert.equal(summary.execution.trigger, 'artifact:new-interactions');
    assert.equal(summary.model_version.version, 1);
    assert.equal(summary.model_version.approval, 'Approved');
    assert.equal(summary.endpoint.status, 'InService');
    assert.equal(Object.keys(summary.recommendations).length, 3);

    // Everything durable went to the configured stores: the model package is in the bucket, and the
    // home holds no SQLite file and no artifact directory.
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'capstan/models/ncf/1/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key);
    assert.ok(keys.includes('capstan/models/ncf/1/model.json'), keys.join(', '));
    assert.ok(keys.includes('capstan/models/ncf/1/model.onnx'), keys.join(', '));
    assert.ok(!readdirSync(home).some((f) => f.endsWith('.db') || f === 'artifacts'), readdirSync(home).join(', '));

    // The registry answers from PostgreSQL in a new process.
    const version = cliJson(await runCapstan(['models', 'show', 'ncf/1', '--json'], { env }));
    assert.equal(version.digest, summary.model_version.digest);
    assert.match(version.artifactUri, new RegExp(`^s3://${bucket}/capstan/models/ncf/1`));
  });
});
