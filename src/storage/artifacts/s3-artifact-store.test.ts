import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { CapstanError } from '../../core/errors.js';
import { S3ArtifactStore } from './s3-artifact-store.js';
import { startS3TestServer, type S3TestServer } from '../test-support/s3-test-server.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function refused(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CapstanError, `expected a CapstanError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('S3ArtifactStore against s3rver', () => {
  let server: S3TestServer;
  const scratch: string[] = [];
  before(async () => {
    server = await startS3TestServer();
  });
  after(async () => {
    await server.dispose();
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  async function fresh(extra: Partial<ConstructorParameters<typeof S3ArtifactStore>[0]> = {}) {
    const bucket = await server.createBucket();
    return { bucket, store: new S3ArtifactStore({ bucket, prefix: 'artifacts', s3: server.s3, ...extra }) };
  }

  it('keeps the sha256 as object metadata under the store prefix', async () => {
    const { bucket, store } = await fresh();
    await store.put('m/model.onnx', 'weights');
    const head = await server.client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'artifacts/m/model.onnx' }));
    assert.equal(head.Metadata?.sha256, sha('weights'));
  });

  it('lists across pages and deletes a prefix in batches', async () => {
    const { bucket, store } = await fresh({ listPageSize: 2, deleteBatchSize: 2 });
    for (let i = 0; i < 5; i++) await store.put(`runs/${i}.json`, `r${i}`);
    await store.put('other/x', 'x');
    const listed = await store.list('runs/');
    assert.deepEqual(listed.map((i) => i.key), ['runs/0.json', 'runs/1.json', 'runs/2.json', 'runs/3.json', 'runs/4.json']);
    assert.deepEqual(listed.map((i) => i.sha256), [0, 1, 2, 3, 4].map((i) => sha(`r${i}`)));
    assert.equal(await store.deletePrefix('runs/'), 5);
    const left = await server.client.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.deepEqual((left.Contents ?? []).map((o) => o.Key), ['artifacts/other/x']);
  });

  it('computes the digest of an object written by another tool without metadata', async () => {
    const { bucket, store } = await fresh();
    await server.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'artifacts/foreign.csv', Body: 'a,b\n1,2\n' }));
    const info = await store.stat('foreign.csv');
    assert.equal(info?.sha256, sha('a,b\n1,2\n'));
    assert.equal(info?.size, 8);
  });

  it('refuses to download a stored key that decodes to "..", writing nothing', async () => {
    const { bucket, store } = await fresh();
    await store.put('dl/ok.txt', 'ok');
    // s3rver resolves literal ".." in request paths, so the hostile key is planted percent-encoded,
    // as another tool could write it to any S3 API.
    await server.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'artifacts/dl/%2e%2e/%2e%2e/escape.txt', Body: 'pwned' }));
    const keys = (await server.client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key);
    assert.ok(keys?.includes('artifacts/dl/%2e%2e/%2e%2e/escape.txt'));
    const parent = mkdtempSync(path.join(os.tmpdir(), 'capstan-s3-dl-'));
    scratch.push(parent);
    const target = path.join(parent, 'target');
    await refused(store.downloadDirectory('dl', target), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /^artifact key "%2e%2e\/%2e%2e\/escape\.txt" contains a "\.\." segment$/);
    assert.equal(existsSync(target), false);
    assert.deepEqual(readdirSync(parent), []);
    // The unsafe key is not listed as an artifact either.
    assert.deepEqual((await store.list('')).map((i) => i.key), ['dl/ok.txt']);
  });

  it('maps keys to s3:// URIs and back', async () => {
    const { bucket, store } = await fresh();
    assert.equal(store.rootUri, `s3://${bucket}/artifacts`);
    assert.equal(store.uriFor('a/b'), `s3://${bucket}/artifacts/a/b`);
    assert.equal(store.keyFor(`s3://${bucket}/artifacts/a/b`), 'a/b');
    assert.throws(() => store.keyFor(`s3://${bucket}/other/a`), (err: CapstanError) => err.code === 'CAPSTAN_ARTIFACT_UNSAFE_PATH');
  });

  it('reports an unreachable endpoint as STORE_UNAVAILABLE without leaking credentials', async () => {
    const store = new S3ArtifactStore({
      bucket: 'nowhere',
      prefix: '',
      s3: { endpoint: 'http://127.0.0.1:1', region: 'us-east-1', forcePathStyle: true, accessKeyId: 'AKIDSECRET', secretAccessKey: 'verysecret' },
    });
    try {
      await assert.rejects(store.put('x', 'y'), (err: unknown) => {
        assert.ok(err instanceof CapstanError);
        assert.equal(err.code, 'CAPSTAN_ARTIFACT_STORE_UNAVAILABLE');
        assert.match(err.message, /^could not write artifact key "x" \(/);
        assert.doesNotMatch(err.message, /AKIDSECRET|verysecret/);
        return true;
      });
    } finally {
      await store.close();
    }
  });

  it('reports a missing bucket as STORE_UNAVAILABLE', async () => {
    const store = new S3ArtifactStore({ bucket: 'no-such-bucket-here', prefix: '', s3: server.s3 });
    try {
      await refused(store.put('x', 'y'), 'CAPSTAN_ARTIFACT_STORE_UNAVAILABLE', /^could not write artifact key "x" \(the bucket does not exist\)$/);
    } finally {
      await store.close();
    }
  });
});
