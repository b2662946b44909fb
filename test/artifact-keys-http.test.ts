import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isCapstanError } from '../src/core/errors.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { ArtifactsClient, artifactKeyPath } from '../src/sdk/artifacts-client.js';
import { HttpClient } from '../src/sdk/http-client.js';
import { startS3TestServer, type S3TestServer } from '../src/storage/test-support/s3-test-server.js';

// Keys over HTTP behave the same on a directory and on S3: any script round-trips (the URI header is
// percent-encoded), and unprintable, over-long and dot-segment keys answer 400 with nothing stored.
let probesRun = 0;
after(() => console.log(`artifact-safety (http): ${probesRun} probes`));

/** Sends a request with the path exactly as given: fetch would resolve `%2e%2e` before sending. */
function rawPut(base: string, rawPath: string): Promise<{ status: number; body: { code?: string; detail?: string } }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${rawPath}`, { method: 'PUT', path: rawPath, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { code?: string } }));
    });
    req.on('error', reject);
    req.end('pwned');
  });
}

const refusedKeys: [string, string, RegExp][] = [
  ['bidi/a\u202Etxt.exe', 'CAPSTAN_ARTIFACT_KEY_INVALID', /not printable \(U\+202E\)/],
  ['bidi/a\u2066b', 'CAPSTAN_ARTIFACT_KEY_INVALID', /not printable \(U\+2066\)/],
  ['zw/a\u200Bb', 'CAPSTAN_ARTIFACT_KEY_INVALID', /not printable \(U\+200B\)/],
  ['ctl/a\u0085b', 'CAPSTAN_ARTIFACT_KEY_INVALID', /control character \(U\+0085\)/],
  ['enc/a%E2%80%AEb', 'CAPSTAN_ARTIFACT_KEY_INVALID', /not printable \(U\+202E\)/],
  [`long/${'s'.repeat(300)}.txt`, 'CAPSTAN_ARTIFACT_KEY_INVALID', /segment longer than 255 bytes/],
  [`long/${'日'.repeat(86)}`, 'CAPSTAN_ARTIFACT_KEY_INVALID', /segment longer than 255 bytes/],
];

const stores: { name: string; setup(home: string): Promise<Record<string, unknown>>; teardown(): Promise<void> }[] = [];
let s3: S3TestServer | undefined;
stores.push({ name: 'file', setup: async () => ({}), teardown: async () => {} });
stores.push({
  name: 's3',
  async setup() {
    s3 = await startS3TestServer();
    const bucket = await s3.createBucket();
    return { artifacts: `s3://${bucket}/capstan`, 's3.endpoint': s3.endpoint, 's3.accessKeyId': 'S3RVER', 's3.secretAccessKey': 'S3RVER', 's3.forcePathStyle': true };
  },
  teardown: async () => s3?.dispose(),
});

for (const store of stores) {
  describe(`artifact keys over HTTP (${store.name} store)`, () => {
    let home: string;
    let server: TestServer;
    let client: ArtifactsClient;
    let file: string;

    before(async () => {
      home = mkdtempSync(path.join(os.tmpdir(), 'capstan-artifact-keys-'));
      file = path.join(home, 'm.txt');
      writeFileSync(file, 'model bytes');
      server = await startTestServer(await store.setup(home), { home });
      client = new ArtifactsClient(new HttpClient({ baseUrl: server.url }));
    });
    after(async () => {
      await server?.dispose();
      await store.teardown();
      rmSync(home, { recursive: true, force: true });
    });

    // 210 bytes, not the 255 allowed: s3rver keeps each object in files named `<key>._S3rver_metadata.json` and so on.
    for (const key of ['日本/日本.txt', 'ελληνικά/κλειδί.csv', 'emoji/🚀 launch.json', `max/${'日'.repeat(70)}`]) {
      it(`stores and serves ${JSON.stringify(key.slice(0, 24))}, with the URI header percent-encoded`, async () => {
        probesRun++;
        const put = await fetch(`${server.url}/api/v1/artifacts/${artifactKeyPath(key)}`, { method: 'PUT', body: 'bytes' });
        assert.equal(put.status, 201);
        const info = (await put.json()) as { key: string; uri: string };
        assert.equal(info.key, key);
        const got = await fetch(`${server.url}/api/v1/artifacts/${artifactKeyPath(key)}`);
        assert.equal(got.status, 200);
        assert.equal(await got.text(), 'bytes');
        assert.equal(got.headers.get('x-capstan-uri'), encodeURI(info.uri));
        const dest = path.join(home, `dl-${probesRun}`);
        const downloaded = await client.download(key, dest);
        assert.equal(downloaded.uri, info.uri);
        assert.deepEqual((await client.list(key)).map((a) => a.key), [key]);
      });
    }

    it('refuses unprintable and over-long keys with 400 and a catalogue code, storing nothing', async () => {
      const before = (await client.list('')).length;
      for (const [key, code, message] of refusedKeys) {
        probesRun++;
        const res = await fetch(`${server.url}/api/v1/artifacts/${artifactKeyPath(key)}`, { method: 'PUT', body: 'pwned' });
        assert.equal(res.status, 400, key);
        const body = (await res.json()) as { code: string; detail: string };
        assert.equal(body.code, code, key);
        assert.match(body.detail, message);
      }
      assert.equal((await client.list('')).length, before);
    });

    it('refuses dot segments however they are spelled on the wire, storing nothing', async () => {
      for (const raw of ['/api/v1/artifacts/x/%2e%2e/ok/a.txt', '/api/v1/artifacts/x/%2E%2E/ok/b.txt', '/api/v1/artifacts/x/.%2e/ok/c.txt', '/api/v1/artifacts/x/%252E%252E/ok/d.txt']) {
        probesRun++;
        const res = await rawPut(server.url, raw);
        assert.equal(res.status, 400, raw);
        assert.equal(res.body.code, 'CAPSTAN_ARTIFACT_UNSAFE_PATH', raw);
      }
      assert.deepEqual(await client.list('ok/'), []);
    });

    it('the SDK refuses a ".." key before sending, and its path encoding keeps ".." for the server to refuse', async () => {
      probesRun += 2;
      await assert.rejects(client.upload(file, 'x/../ok/a.txt'), (err: unknown) => isCapstanError(err, 'CAPSTAN_ARTIFACT_UNSAFE_PATH'));
      assert.equal(artifactKeyPath('x/../ok/a.txt'), 'x/%252E%252E/ok/a.txt');
      const res = await fetch(`${server.url}/api/v1/artifacts/${artifactKeyPath('x/../ok/a.txt')}`, { method: 'PUT', body: 'pwned' });
      assert.equal(res.status, 400);
      assert.deepEqual(await client.list('ok/'), []);
    });
  });
}
