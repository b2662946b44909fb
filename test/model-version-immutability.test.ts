import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { startS3TestServer, type S3TestServer } from '../src/storage/test-support/s3-test-server.js';

const MODEL = 'export function predict(m, x) { return x.a + x.b; }\n';

// The same guard on a directory and on the S3 protocol: it sits in front of the store, so both refuse alike.
for (const store of ['file', 's3'] as const) {
  describe(`a registered version's files cannot change over the artifacts API (${store}://)`, () => {
    let s3: S3TestServer | undefined;
    let t: TestPlatform;
    let app: CapstanApp;
    const put = (key: string, body: string) => app.inject({ method: 'PUT', url: `/api/v1/artifacts/${key}`, headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(body) });

    before(async () => {
      let flags: Record<string, unknown> = {};
      if (store === 's3') {
        s3 = await startS3TestServer();
        flags = { artifacts: `s3://${await s3.createBucket()}/capstan`, 's3.endpoint': s3.s3.endpoint, 's3.accessKeyId': 'S3RVER', 's3.secretAccessKey': 'S3RVER' };
      }
      t = await openTestPlatform(flags);
      const pkg = path.join(t.home, 'pkg');
      mkdirSync(pkg);
      writeFileSync(path.join(pkg, 'model.json'), JSON.stringify({ name: 'adder', framework: 'js', entry: 'model.mjs' }));
      writeFileSync(path.join(pkg, 'model.mjs'), MODEL);
      await t.platform.registry.registerVersion('adder', { packageDir: pkg });
      app = await buildApp(t.platform);
    });
    after(async () => {
      await app?.close();
      await t?.dispose();
      await s3?.dispose();
    });

    it('refuses a PUT over a registered file, a new file in the package and a future version number with 409, and changes nothing', async () => {
      assert.match(t.platform.artifacts.rootUri, new RegExp(`^${store}://`));
      const digest = (await t.platform.registry.getVersion('adder', 1)).digest;
      for (const key of ['models/adder/1/model.mjs', 'models/adder/1/assets/extra.json', 'models/adder/1', 'models/adder/2/model.mjs', 'models/other/1/model.json']) {
        const res = await put(key, 'export function predict() { return 666; }');
        assert.equal(res.statusCode, 409, `${key}: ${res.body}`);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
        assert.equal(res.json().code, 'CAPSTAN_REGISTRY_VERSION_IMMUTABLE');
        assert.equal(res.json().key, key);
      }
      assert.deepEqual((await t.platform.artifacts.list('models/')).map((a) => a.key), ['models/adder/1/model.json', 'models/adder/1/model.mjs']);
      assert.equal((await t.platform.artifacts.get('models/adder/1/model.mjs')).toString(), MODEL);
      const pulled = await t.platform.registry.pullVersion('adder/1', path.join(t.home, 'pulled'));
      assert.equal(pulled.digest, digest);
    });

    it('still accepts uploads elsewhere, including model names outside a version number', async () => {
      for (const key of ['uploads/u1/model.json', 'models/adder/notes.txt', 'models/adder/latest/x']) {
        const res = await put(key, '{}');
        assert.equal(res.statusCode, 201, `${key}: ${res.body}`);
      }
    });
  });
}
