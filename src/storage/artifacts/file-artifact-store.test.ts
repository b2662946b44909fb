import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CapstanError } from '../../core/errors.js';
import { TempDirs } from '../../core/test-support/temp-dirs.js';
import { FileArtifactStore } from './file-artifact-store.js';

const temp = new TempDirs();
const tempDir = (label: string) => temp.make(label);
after(() => temp.removeAll());

async function refused(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof CapstanError, `expected a CapstanError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

/** A store with a secret file outside it and links planted inside pointing at it. */
async function storeWithPlantedLinks() {
  const root = tempDir('file-store');
  const outside = tempDir('outside');
  writeFileSync(path.join(outside, 'secret.txt'), 'secret');
  const store = await FileArtifactStore.open(root);
  symlinkSync(outside, path.join(root, 'dirlink'));
  symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'filelink'));
  return { root, outside, store };
}

describe('FileArtifactStore: links planted inside the root', () => {
  it('refuses to read through a planted directory link or file link', async () => {
    const { store } = await storeWithPlantedLinks();
    const unsafe = 'CAPSTAN_ARTIFACT_UNSAFE_PATH';
    await refused(store.get('dirlink/secret.txt'), unsafe, /^artifact key "dirlink\/secret\.txt" passes through a symbolic link$/);
    await refused(store.stream('dirlink/secret.txt'), unsafe, /passes through a symbolic link/);
    await refused(store.stat('dirlink/secret.txt'), unsafe, /passes through a symbolic link/);
    await refused(store.get('filelink'), unsafe, /^artifact key "filelink" passes through a symbolic link$/);
    await refused(store.copy('filelink', 'copied'), unsafe, /passes through a symbolic link/);
    assert.equal(await store.stat('copied'), undefined);
  });

  it('refuses to write or delete through a planted link and leaves the target untouched', async () => {
    const { outside, store } = await storeWithPlantedLinks();
    const unsafe = 'CAPSTAN_ARTIFACT_UNSAFE_PATH';
    await refused(store.put('dirlink/secret.txt', 'pwned'), unsafe, /passes through a symbolic link/);
    await refused(store.put('dirlink/new.txt', 'pwned'), unsafe, /passes through a symbolic link/);
    await refused(store.put('filelink', 'pwned'), unsafe, /passes through a symbolic link/);
    await refused(store.delete('dirlink/secret.txt'), unsafe, /passes through a symbolic link/);
    await refused(store.delete('filelink'), unsafe, /passes through a symbolic link/);
    assert.deepEqual(readdirSync(outside), ['secret.txt']);
    assert.equal(readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'secret');
  });

  it('leaves planted links out of listings and refuses to download them', async () => {
    const { store, root } = await storeWithPlantedLinks();
    await store.put('real/a.txt', 'a');
    symlinkSync('../filelink', path.join(root, 'real/b-link'));
    assert.deepEqual((await store.list('')).map((i) => i.key), ['real/a.txt']);
    const target = path.join(tempDir('download'), 'out');
    await refused(store.downloadDirectory('real', target), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /^artifact key "real\/b-link" is a symbolic link$/);
    assert.deepEqual(readdirSync(path.dirname(target)), []);
  });

  it('refuses to download into a target that holds a link, writing nothing', async () => {
    const store = await FileArtifactStore.open(tempDir('file-store'));
    await store.put('pkg/a.txt', 'a');
    await store.put('pkg/sub/b.txt', 'b');
    const outside = tempDir('outside');
    const target = tempDir('target');
    symlinkSync(outside, path.join(target, 'sub'));
    await refused(store.downloadDirectory('pkg', target), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /^artifact key "sub\/b\.txt" passes through a symbolic link$/);
    assert.deepEqual(readdirSync(outside), []);
    assert.deepEqual(readdirSync(target), ['sub']);
  });
});

describe('FileArtifactStore: layout and digests', () => {
  it('keeps staging and sidecars out of listings and leaves staging empty', async () => {
    const root = tempDir('file-store');
    const store = await FileArtifactStore.open(root);
    await store.put('a/b.txt', 'b');
    assert.deepEqual(readdirSync(path.join(root, '.staging')), []);
    assert.deepEqual(readdirSync(path.join(root, '.meta', 'a')), ['b.txt']);
    assert.deepEqual((await store.list('')).map((i) => i.key), ['a/b.txt']);
  });

  it('answers stat and list from the sidecar without rereading the content', async () => {
    const root = tempDir('file-store');
    const store = await FileArtifactStore.open(root);
    await store.put('m.bin', 'content');
    const sidecarPath = path.join(root, '.meta', 'm.bin');
    const sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8'));
    // A sidecar matching the file's inode, size and mtime is trusted as it is.
    writeFileSync(sidecarPath, JSON.stringify({ ...sidecar, sha256: 'f'.repeat(64) }));
    assert.equal((await store.stat('m.bin'))?.sha256, 'f'.repeat(64));
    assert.equal((await store.list(''))[0].sha256, 'f'.repeat(64));
  });

  it('recomputes the digest of a file replaced behind its back', async () => {
    const root = tempDir('file-store');
    const store = await FileArtifactStore.open(root);
    await store.put('m.bin', 'old');
    rmSync(path.join(root, 'm.bin'));
    writeFileSync(path.join(root, 'm.bin'), 'replaced by hand');
    const info = await store.stat('m.bin');
    assert.equal(info?.sha256, createHash('sha256').update('replaced by hand').digest('hex'));
    assert.equal(info?.size, 16);
  });

  it('refuses a key that needs an existing object to be a directory, and one that names a directory', async () => {
    const store = await FileArtifactStore.open(tempDir('file-store'));
    await store.put('a', 'file');
    await store.put('d/x', 'x');
    await refused(store.put('a/b', 'x'), 'CAPSTAN_ARTIFACT_KEY_INVALID', /^artifact key "a\/b" needs "a" to be a directory, but it is a file$/);
    await refused(store.put('d', 'x'), 'CAPSTAN_ARTIFACT_KEY_INVALID', /^artifact key "d" names a directory of other artifacts$/);
    assert.deepEqual((await store.list('')).map((i) => i.key), ['a', 'd/x']);
  });

  it('removes directories emptied by deletes', async () => {
    const root = tempDir('file-store');
    const store = await FileArtifactStore.open(root);
    await store.put('x/y/z.txt', 'z');
    await store.delete('x/y/z.txt');
    assert.deepEqual(readdirSync(root).sort(), ['.meta', '.staging']);
  });

  it('maps keys to URIs and back, refusing URIs outside the store', async () => {
    const root = tempDir('file-store');
    const store = await FileArtifactStore.open(root);
    const uri = store.uriFor('models/m.onnx');
    assert.equal(uri, `file://${realpathSync(root)}/models/m.onnx`);
    assert.equal(store.keyFor(uri), 'models/m.onnx');
    assert.throws(() => store.keyFor('file:///etc/passwd'), (err: CapstanError) => err.code === 'CAPSTAN_ARTIFACT_UNSAFE_PATH' && /not inside this artifact store/.test(err.message));
    assert.throws(() => store.keyFor(`${store.rootUri}/../x`), (err: CapstanError) => err.code === 'CAPSTAN_ARTIFACT_UNSAFE_PATH');
  });

  it('refuses to upload a directory holding a FIFO, writing nothing', async () => {
    const store = await FileArtifactStore.open(tempDir('file-store'));
    const src = tempDir('upload');
    mkdirSync(path.join(src, 'sub'));
    writeFileSync(path.join(src, 'sub', 'ok.txt'), 'ok');
    execFileSync('mkfifo', [path.join(src, 'sub', 'pipe')]);
    await refused(store.uploadDirectory(src, 'p'), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /^directory entry "sub\/pipe" is not a regular file$/);
    assert.deepEqual(await store.list(''), []);
  });
});

describe('file artifact store: staging left by a killed process', () => {
  it('opening the store removes staging files older than an hour and keeps younger ones (a put of another live process)', async () => {
    const root = tempDir('file-store-staging');
    await FileArtifactStore.open(root);
    const staging = path.join(root, '.staging');
    writeFileSync(path.join(staging, 'abandoned'), 'half an upload');
    writeFileSync(path.join(staging, 'abandoned.meta'), '{}');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    for (const f of ['abandoned', 'abandoned.meta']) utimesSync(path.join(staging, f), twoHoursAgo, twoHoursAgo);
    writeFileSync(path.join(staging, 'in-progress'), 'being written');
    await FileArtifactStore.open(root);
    assert.deepEqual(readdirSync(staging), ['in-progress']);
  });

  it('opening the store removes at once the staging files of a dead process of this host (or of an earlier one with the same pid), and keeps those of live processes and other hosts', async () => {
    const root = tempDir('file-store-staging-owner');
    await FileArtifactStore.open(root);
    const staging = path.join(root, '.staging');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const names = {
      dead: `${os.hostname()}~${dead}~a1b2~0d1e2f`,
      // An earlier process that had this process's pid (a restarted container): its token differs.
      samePidEarlier: `${os.hostname()}~${process.pid}~a1b2~0d1e2f`,
      live: `${os.hostname()}~${process.ppid}~a1b2~0d1e2f`,
      otherHost: `another-host~${dead}~a1b2~0d1e2f`,
    };
    for (const n of Object.values(names)) {
      writeFileSync(path.join(staging, n), 'half an upload');
      writeFileSync(path.join(staging, `${n}.meta`), '{}');
    }
    await FileArtifactStore.open(root);
    assert.deepEqual(readdirSync(staging).sort(), [names.otherHost, `${names.otherHost}.meta`, names.live, `${names.live}.meta`].sort());
  });
});
