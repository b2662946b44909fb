import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../../core/config.js';
import { CapstanError } from '../../core/errors.js';
import { createArtifactStore, FileArtifactStore, parseArtifactUri, S3ArtifactStore } from './index.js';

const scratch: string[] = [];
after(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('parseArtifactUri', () => {
  it('reads file:// directories, absolute or relative to the working directory', () => {
    assert.deepEqual(parseArtifactUri('file:///var/lib/capstan/artifacts'), { kind: 'file', dir: '/var/lib/capstan/artifacts' });
    assert.deepEqual(parseArtifactUri('file://data/artifacts', '/srv'), { kind: 'file', dir: '/srv/data/artifacts' });
  });

  it('reads s3:// buckets with and without a prefix', () => {
    assert.deepEqual(parseArtifactUri('s3://ml-artifacts'), { kind: 's3', bucket: 'ml-artifacts', prefix: '' });
    assert.deepEqual(parseArtifactUri('s3://ml-artifacts/'), { kind: 's3', bucket: 'ml-artifacts', prefix: '' });
    assert.deepEqual(parseArtifactUri('s3://ml-artifacts/team/a/'), { kind: 's3', bucket: 'ml-artifacts', prefix: 'team/a' });
  });

  for (const [uri, message] of [
    ['http://example.com/x', /is neither file:\/\/<dir> nor s3:\/\/<bucket>\/<prefix>/],
    ['file://', /file:\/\/ needs a directory/],
    ['s3://', /"" is not a valid S3 bucket name/],
    ['s3://Bad_Bucket/x', /"Bad_Bucket" is not a valid S3 bucket name/],
    ['s3://bucket/a/../b', /"a\/\.\.\/b" is not a valid key prefix/],
    ['s3://bucket/a//b', /is not a valid key prefix/],
    ['s3://bucket/a%2e', /is not a valid key prefix/],
  ] as const) {
    it(`refuses ${JSON.stringify(uri)}`, () => {
      assert.throws(() => parseArtifactUri(uri), (err: unknown) => {
        assert.ok(err instanceof CapstanError);
        assert.equal(err.code, 'CAPSTAN_ARTIFACT_URI_INVALID');
        assert.match(err.message, message);
        return true;
      });
    });
  }
});

describe('createArtifactStore', () => {
  it('opens the default file store under CAPSTAN_HOME, creating it', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-home-'));
    scratch.push(home);
    const config = compileConfig({ env: { CAPSTAN_HOME: home }, cwd: home });
    const store = await createArtifactStore(config);
    assert.ok(store instanceof FileArtifactStore);
    assert.ok(existsSync(path.join(home, 'artifacts', '.staging')));
    await store.put('x.txt', 'x');
    assert.equal((await store.get('x.txt')).toString(), 'x');
    await store.close();
  });

  it('builds an S3 store from s3:// and the s3 settings without contacting the endpoint', async () => {
    const config = compileConfig({
      env: { CAPSTAN_ARTIFACTS: 's3://models/prod', CAPSTAN_S3_ENDPOINT: 'http://127.0.0.1:9000' },
      cwd: os.tmpdir(),
    });
    const store = await createArtifactStore(config);
    assert.ok(store instanceof S3ArtifactStore);
    assert.equal(store.rootUri, 's3://models/prod');
    await store.close();
  });
});
