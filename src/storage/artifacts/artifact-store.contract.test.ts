import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { CapstanError } from '../../core/errors.js';
import { TempDirs } from '../../core/test-support/temp-dirs.js';
import type { ArtifactStore } from './artifact-store.js';
import { FileArtifactStore } from './file-artifact-store.js';
import { S3ArtifactStore } from './s3-artifact-store.js';
import { createTar, extractTarSafely } from './safe-extract.js';
import { startS3TestServer, type S3TestServer } from '../test-support/s3-test-server.js';
import { writeRawTar, type RawTarEntry } from '../test-support/raw-tar.js';

/** One adapter under test: a fresh store plus raw access to what it really holds. */
interface Harness {
  store: ArtifactStore;
  /** Everything stored underneath, staging and sidecars included, sorted. */
  raw(): Promise<string[]>;
  /** Stores an object under a raw relative key, bypassing the store's key rules (as another tool could). */
  plant(rawKey: string, content: string): Promise<void>;
}

interface Adapter {
  name: string;
  setup(): Promise<void>;
  create(): Promise<Harness>;
  teardown(): Promise<void>;
}

const temp = new TempDirs();
const tempDir = (label: string) => temp.make(label);

async function walkRaw(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out.push(`${p}/`);
        await visit(p);
      } else out.push(e.isSymbolicLink() ? `${p} -> link` : `${p} (${(await lstat(path.join(root, p))).size})`);
    }
  };
  await visit('');
  return out.sort();
}

const fileAdapter: Adapter = {
  name: 'file',
  async setup() {},
  async create() {
    const root = tempDir('file-store');
    const store = await FileArtifactStore.open(root);
    return {
      store,
      raw: () => walkRaw(root),
      async plant(rawKey, content) {
        mkdirSync(path.dirname(path.join(root, rawKey)), { recursive: true });
        writeFileSync(path.join(root, rawKey), content);
      },
    };
  },
  async teardown() {},
};

let s3server: S3TestServer | undefined;
const s3Adapter: Adapter = {
  name: 's3',
  async setup() {
    s3server = await startS3TestServer();
  },
  async create() {
    const server = s3server!;
    const bucket = await server.createBucket();
    // A small part size makes large puts go through the multipart staging path.
    const store = new S3ArtifactStore({ bucket, prefix: 'root/p', s3: server.s3, partSize: 5 * 1024 * 1024 });
    return {
      store,
      async raw() {
        const res = await server.client.send(new ListObjectsV2Command({ Bucket: bucket }));
        return (res.Contents ?? []).map((o) => `${o.Key} (${o.Size})`).sort();
      },
      async plant(rawKey, content) {
        await server.client.send(new PutObjectCommand({ Bucket: bucket, Key: `root/p/${rawKey}`, Body: content }));
      },
    };
  },
  async teardown() {
    await s3server?.dispose();
  },
};

after(() => temp.removeAll());

function sha(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function refused(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CapstanError, `expected a CapstanError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

/** A stream that sends `bytes` bytes and then fails, like a client that disconnects mid-upload. */
function failingStream(bytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) {
        this.destroy(new Error('client went away'));
        return;
      }
      const n = Math.min(1024 * 1024, bytes - sent);
      sent += n;
      this.push(Buffer.alloc(n, 7));
    },
  });
}

/** The key-safety list of issue 2, with the message each must produce. */
const hostileKeys: [string, RegExp][] = [
  ['../escape.txt', /contains a "\.\." segment/],
  ['a/../../escape.txt', /contains a "\.\." segment/],
  ['/etc/passwd', /is an absolute path/],
  ['C:/Windows/escape.txt', /is an absolute path \(drive letter\)/],
  ['%2e%2e%2fescape.txt', /contains a "\.\." segment/],
  ['%252e%252e%252fescape.txt', /contains a "\.\." segment/],
  ['a\\..\\escape.txt', /contains a backslash/],
  ['a\0.txt', /contains a NUL byte/],
  ['.staging/x', /reserved area/],
];

/** Keys that are not traversal but still refused (audit issue 10): unprintable characters and over-long segments. */
const invalidKeys: [string, RegExp][] = [
  ['bidi/invoice\u202Etxt.exe', /not printable \(U\+202E\)/],
  ['bidi/a\u202Ab', /not printable \(U\+202A\)/],
  ['bidi/a\u2069b', /not printable \(U\+2069\)/],
  ['bidi/a\u200Fb', /not printable \(U\+200F\)/],
  ['zero/a\uFEFFb', /not printable \(U\+FEFF\)/],
  ['unassigned/a\u0378b', /not printable \(U\+0378\)/],
  ['encoded/a%E2%80%AEb', /not printable \(U\+202E\)/],
  [`long/${'s'.repeat(300)}.txt`, /segment longer than 255 bytes/],
  [`long/${'日'.repeat(86)}`, /segment longer than 255 bytes/],
];

/** Every refused key with its catalogue code. */
const refusedKeys: [string, RegExp, string][] = [
  ...hostileKeys.map(([key, message]): [string, RegExp, string] => [key, message, 'CAPSTAN_ARTIFACT_UNSAFE_PATH']),
  ...invalidKeys.map(([key, message]): [string, RegExp, string] => [key, message, 'CAPSTAN_ARTIFACT_KEY_INVALID']),
];
let probesRun = 0;
after(() => console.log(`artifact-safety (stores): ${probesRun} probes`));

const hostileArchives: [string, RawTarEntry[], RegExp][] = [
  ['a ".." escape', [{ name: 'ok.txt', content: 'fine' }, { name: '../escape.txt', content: 'pwned' }], /archive entry "\.\.\/escape\.txt" contains a "\.\." segment/],
  ['a nested ".." escape', [{ name: 'a/../../escape.txt', content: 'pwned' }], /contains a "\.\." segment/],
  ['an absolute entry', [{ name: '/tmp/capstan-escape.txt', content: 'pwned' }], /is an absolute path/],
  ['an encoded escape', [{ name: '%2e%2e%2fescape.txt', content: 'pwned' }], /contains a "\.\." segment/],
  ['a backslash escape', [{ name: '..\\escape.txt', content: 'pwned' }], /contains a backslash/],
  ['a symbolic link', [{ name: 'ok.txt', content: 'fine' }, { name: 'link', type: '2', linkname: '/etc' }], /archive entry "link" is a symbolic link/],
  ['a hard link', [{ name: 'hard', type: '1', linkname: '/etc/passwd' }], /archive entry "hard" is a hard link/],
  ['a device file', [{ name: 'dev', type: '3' }], /archive entry "dev" is a device file/],
  ['a FIFO', [{ name: 'fifo', type: '6' }], /archive entry "fifo" is a FIFO/],
];

for (const adapter of [fileAdapter, s3Adapter]) {
  describe(`artifact store contract: ${adapter.name}`, () => {
    before(() => adapter.setup());
    after(() => adapter.teardown());

    it('puts and gets bytes, text and streams, with their sha256', async () => {
      const { store } = await adapter.create();
      const a = await store.put('models/ncf/1/model.onnx', Buffer.from([1, 2, 3]));
      assert.deepEqual({ key: a.key, size: a.size, sha256: a.sha256 }, { key: 'models/ncf/1/model.onnx', size: 3, sha256: sha(Buffer.from([1, 2, 3])) });
      assert.ok(!Number.isNaN(Date.parse(a.modifiedAt)));
      await store.put('notes.txt', 'héllo');
      await store.put('streamed.bin', Readable.from([Buffer.from('ab'), Buffer.from('cd')]));
      assert.deepEqual(await store.get('models/ncf/1/model.onnx'), Buffer.from([1, 2, 3]));
      assert.equal((await store.get('notes.txt')).toString(), 'héllo');
      assert.equal((await readAll(await store.stream('streamed.bin'))).toString(), 'abcd');
      assert.equal((await store.stat('streamed.bin'))?.sha256, sha('abcd'));
      assert.equal((await store.stat('notes.txt'))?.size, Buffer.byteLength('héllo'));
      await store.close();
    });

    it('normalises keys: "a//./b" and "a/b" are one object', async () => {
      const { store } = await adapter.create();
      await store.put('a//./b', 'x');
      assert.equal((await store.get('a/b')).toString(), 'x');
      assert.deepEqual((await store.list('')).map((i) => i.key), ['a/b']);
    });

    it('overwrites an object and reports the new digest', async () => {
      const { store } = await adapter.create();
      await store.put('k', 'one');
      const second = await store.put('k', 'two');
      assert.equal(second.sha256, sha('two'));
      assert.equal((await store.stat('k'))?.sha256, sha('two'));
      assert.equal((await store.get('k')).toString(), 'two');
    });

    it('stores a large streamed object intact and cleans its staging', async () => {
      const h = await adapter.create();
      const big = Buffer.alloc(12 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
      const info = await h.store.put('big/blob.bin', Readable.from([big.subarray(0, 7_000_000), big.subarray(7_000_000)]));
      assert.equal(info.size, big.length);
      assert.equal(info.sha256, sha(big));
      assert.equal((await h.store.stat('big/blob.bin'))?.sha256, sha(big));
      assert.ok((await h.store.get('big/blob.bin')).equals(big));
      assert.deepEqual((await h.raw()).filter((r) => r.includes('.staging/') && !r.endsWith('/')), []);
    });

    it('answers NOT_FOUND for get and stream of a missing key, undefined for stat', async () => {
      const { store } = await adapter.create();
      await refused(store.get('missing/x'), 'CAPSTAN_ARTIFACT_NOT_FOUND', /^no artifact at key "missing\/x"$/);
      await refused(store.stream('missing/x'), 'CAPSTAN_ARTIFACT_NOT_FOUND', /no artifact/);
      assert.equal(await store.stat('missing/x'), undefined);
    });

    it('lists by key prefix, sorted, with digests', async () => {
      const { store } = await adapter.create();
      for (const k of ['b', 'ab/4', 'a/b/3', 'a/2', 'a/1']) await store.put(k, k);
      assert.deepEqual((await store.list('a')).map((i) => i.key), ['a/1', 'a/2', 'a/b/3', 'ab/4']);
      assert.deepEqual((await store.list('a/')).map((i) => i.key), ['a/1', 'a/2', 'a/b/3']);
      assert.deepEqual((await store.list('')).map((i) => i.key), ['a/1', 'a/2', 'a/b/3', 'ab/4', 'b']);
      assert.deepEqual(await store.list('zzz/'), []);
      const [first] = await store.list('a/1');
      assert.deepEqual({ key: first.key, size: first.size, sha256: first.sha256 }, { key: 'a/1', size: 3, sha256: sha('a/1') });
    });

    it('deletes one object, and silently nothing when it is missing', async () => {
      const { store } = await adapter.create();
      await store.put('d/1', 'x');
      await store.put('d/2', 'y');
      await store.delete('d/1');
      await store.delete('d/1');
      assert.equal(await store.stat('d/1'), undefined);
      assert.deepEqual((await store.list('d/')).map((i) => i.key), ['d/2']);
    });

    it('deletes every object under a prefix and counts them', async () => {
      const { store } = await adapter.create();
      for (const k of ['run/1/a', 'run/1/b/c', 'run/10/a', 'keep/x']) await store.put(k, k);
      assert.equal(await store.deletePrefix('run/1/'), 2);
      assert.deepEqual((await store.list('')).map((i) => i.key), ['keep/x', 'run/10/a']);
      assert.equal(await store.deletePrefix('nothing/'), 0);
    });

    it('copies an object with its digest; later writes to the source do not change the copy', async () => {
      const { store } = await adapter.create();
      await store.put('src/model.onnx', 'weights-v1');
      const copied = await store.copy('src/model.onnx', 'dst/model.onnx');
      assert.deepEqual({ key: copied.key, sha256: copied.sha256, size: copied.size }, { key: 'dst/model.onnx', sha256: sha('weights-v1'), size: 10 });
      await store.put('src/model.onnx', 'weights-v2');
      assert.equal((await store.get('dst/model.onnx')).toString(), 'weights-v1');
      await refused(store.copy('nope', 'dst/x'), 'CAPSTAN_ARTIFACT_NOT_FOUND', /no artifact at key "nope"/);
    });

    it('a failed stream upload leaves nothing visible and the previous object intact', async () => {
      const h = await adapter.create();
      await h.store.put('atomic/kept', 'previous');
      const before = await h.raw();
      await assert.rejects(h.store.put('atomic/new', failingStream(100)), /client went away/);
      await assert.rejects(h.store.put('atomic/kept', failingStream(6 * 1024 * 1024)), /client went away/);
      assert.equal(await h.store.stat('atomic/new'), undefined);
      assert.equal((await h.store.get('atomic/kept')).toString(), 'previous');
      assert.deepEqual(await h.raw(), before);
    });

    it('uploads a directory tree and downloads it back', async () => {
      const { store } = await adapter.create();
      const src = tempDir('upload');
      mkdirSync(path.join(src, 'assets/maps'), { recursive: true });
      writeFileSync(path.join(src, 'model.json'), '{"name":"ncf"}');
      writeFileSync(path.join(src, 'assets/maps/users.json'), '[1,2]');
      writeFileSync(path.join(src, 'assets/items.json'), '[3]');
      const infos = await store.uploadDirectory(src, 'models/ncf/7');
      assert.deepEqual(infos.map((i) => i.key), ['models/ncf/7/assets/items.json', 'models/ncf/7/assets/maps/users.json', 'models/ncf/7/model.json']);
      assert.equal(infos[2].sha256, sha('{"name":"ncf"}'));
      const dst = tempDir('download');
      const written = await store.downloadDirectory('models/ncf/7', path.join(dst, 'out'));
      assert.equal(written.length, 3);
      assert.equal(readFileSync(path.join(dst, 'out/assets/maps/users.json'), 'utf8'), '[1,2]');
      assert.equal(readFileSync(path.join(dst, 'out/model.json'), 'utf8'), '{"name":"ncf"}');
    });

    it('stores keys in any script and reads them back under the same key', async () => {
      const { store } = await adapter.create();
      for (const key of ['日本/日本.txt', 'ελληνικά/κλειδί.csv', 'emoji/🚀 launch.json', 'nfc/cafe\u0301.txt']) {
        probesRun++;
        const info = await store.put(key, key);
        assert.equal(info.key, key.normalize('NFC'));
        assert.equal((await store.get(info.key)).toString(), key);
      }
      assert.deepEqual((await store.list('nfc/')).map((i) => i.key), ['nfc/caf\u00e9.txt']);
    });

    for (const [key, message, code] of refusedKeys) {
      it(`refuses the key ${JSON.stringify(key.slice(0, 40))} for every operation, writing nothing`, async () => {
        probesRun++;
        const h = await adapter.create();
        await h.store.put('existing/file.txt', 'data');
        const before = await h.raw();
        await refused(h.store.put(key, 'pwned'), code, message);
        await refused(h.store.put(key, failingStream(10)), code, message);
        await refused(h.store.get(key), code, message);
        await refused(h.store.stream(key), code, message);
        await refused(h.store.stat(key), code, message);
        await refused(h.store.delete(key), code, message);
        await refused(h.store.copy('existing/file.txt', key), code, message);
        await refused(h.store.copy(key, 'existing/copy.txt'), code, message);
        await refused(h.store.list(key), code, message);
        await refused(h.store.deletePrefix(key), code, message);
        const src = tempDir('hostile-upload');
        writeFileSync(path.join(src, 'f.txt'), 'x');
        await refused(h.store.uploadDirectory(src, key), code, message);
        const dst = tempDir('hostile-download');
        await refused(h.store.downloadDirectory(key, dst), code, message);
        assert.deepEqual(readdirSync(dst), []);
        assert.deepEqual(await h.raw(), before);
      });
    }

    it('refuses to upload a tree holding a symbolic link, before writing anything', async () => {
      const h = await adapter.create();
      const outside = tempDir('outside');
      writeFileSync(path.join(outside, 'secret.txt'), 'secret');
      const src = tempDir('symlink-upload');
      writeFileSync(path.join(src, 'a-first.txt'), 'would be uploaded first');
      mkdirSync(path.join(src, 'sub'));
      symlinkSync(path.join(outside, 'secret.txt'), path.join(src, 'sub/secret.txt'));
      const before = await h.raw();
      await refused(h.store.uploadDirectory(src, 'pkg'), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /^directory entry "sub\/secret\.txt" is a symbolic link$/);
      rmSync(path.join(src, 'sub/secret.txt'));
      symlinkSync(outside, path.join(src, 'sub/dir-link'));
      await refused(h.store.uploadDirectory(src, 'pkg'), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /"sub\/dir-link" is a symbolic link/);
      assert.deepEqual(await h.raw(), before);
    });

    it('refuses a download whose stored keys would land outside the target, writing nothing', async () => {
      const h = await adapter.create();
      await h.store.put('dl/ok.txt', 'fine');
      await h.plant('dl/..\\..\\escape.txt', 'pwned');
      const parent = tempDir('download-parent');
      const target = path.join(parent, 'target');
      await refused(h.store.downloadDirectory('dl', target), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /artifact key "\.\.\\\\\.\.\\\\escape\.txt" contains a backslash/);
      assert.equal(existsSync(target), false);
      assert.deepEqual(readdirSync(parent), []);
    });

    it('packs a directory into a tar that round-trips through the store', async () => {
      const { store } = await adapter.create();
      const src = tempDir('pack');
      mkdirSync(path.join(src, 'assets'));
      writeFileSync(path.join(src, 'model.json'), '{}');
      writeFileSync(path.join(src, 'assets/ids.json'), '[1]');
      const work = tempDir('tar-work');
      const packed = await createTar(src, path.join(work, 'model.tar.gz'));
      assert.deepEqual(packed.files, ['assets/ids.json', 'model.json']);
      await store.put('packages/model.tar.gz', createReadStream(path.join(work, 'model.tar.gz')));
      const local = path.join(work, 'fetched.tar.gz');
      await pipeline(await store.stream('packages/model.tar.gz'), createWriteStream(local));
      const out = path.join(work, 'out');
      const result = await extractTarSafely(local, out);
      assert.deepEqual(result.files, ['assets/ids.json', 'model.json']);
      assert.equal(readFileSync(path.join(out, 'assets/ids.json'), 'utf8'), '[1]');
    });

    for (const [label, entries, message] of hostileArchives) {
      it(`refuses a stored tar holding ${label}, extracting nothing`, async () => {
        const { store } = await adapter.create();
        const work = tempDir('hostile-tar');
        writeRawTar(path.join(work, 'evil.tar'), entries);
        await store.put('archives/evil.tar', readFileSync(path.join(work, 'evil.tar')));
        const local = path.join(work, 'fetched.tar');
        await pipeline(await store.stream('archives/evil.tar'), createWriteStream(local));
        const target = path.join(work, 'sandbox', 'target');
        mkdirSync(target, { recursive: true });
        writeFileSync(path.join(target, 'existing.txt'), 'untouched');
        await refused(extractTarSafely(local, target), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', message);
        assert.deepEqual(readdirSync(target), ['existing.txt']);
        assert.equal(readFileSync(path.join(target, 'existing.txt'), 'utf8'), 'untouched');
        assert.deepEqual(readdirSync(path.join(work, 'sandbox')), ['target']);
        assert.equal(existsSync('/tmp/capstan-escape.txt'), false);
      });
    }
  });
}
