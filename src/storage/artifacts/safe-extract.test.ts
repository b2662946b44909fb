import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CapstanError } from '../../core/errors.js';
import { TempDirs } from '../../core/test-support/temp-dirs.js';
import { createTar, extractTarSafely } from './safe-extract.js';
import { writeRawTar } from '../test-support/raw-tar.js';

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

describe('extractTarSafely', () => {
  it('extracts plain files and directories, with "./" prefixes, into a new directory', async () => {
    const work = tempDir('tar');
    writeRawTar(path.join(work, 'ok.tar'), [
      { name: './', type: '5' },
      { name: './assets/', type: '5' },
      { name: './assets/ids.json', content: '[1,2]' },
      { name: 'model.json', content: '{}' },
    ]);
    const result = await extractTarSafely(path.join(work, 'ok.tar'), path.join(work, 'out'));
    assert.deepEqual(result, { files: ['assets/ids.json', 'model.json'], bytes: 7 });
    assert.equal(readFileSync(path.join(work, 'out/assets/ids.json'), 'utf8'), '[1,2]');
  });

  it('drops setuid, setgid and group/other write bits', async () => {
    const work = tempDir('tar');
    writeRawTar(path.join(work, 'modes.tar'), [
      { name: 'tool', content: '#!/bin/sh\n', mode: 0o6777 },
      { name: 'data', content: 'x', mode: 0o666 },
    ]);
    await extractTarSafely(path.join(work, 'modes.tar'), path.join(work, 'out'));
    assert.equal(statSync(path.join(work, 'out/tool')).mode & 0o7777, 0o755);
    assert.equal(statSync(path.join(work, 'out/data')).mode & 0o7777, 0o644);
  });

  it('refuses an entry that would pass through a link already in the target, writing nothing', async () => {
    const work = tempDir('tar');
    const outside = tempDir('outside');
    const target = path.join(work, 'target');
    mkdirSync(target);
    symlinkSync(outside, path.join(target, 'assets'));
    writeRawTar(path.join(work, 'evil.tar'), [
      { name: 'first.txt', content: 'would come first' },
      { name: 'assets/ids.json', content: 'pwned' },
    ]);
    await refused(extractTarSafely(path.join(work, 'evil.tar'), target), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /^archive entry "assets\/ids\.json" passes through a symbolic link$/);
    assert.deepEqual(readdirSync(outside), []);
    assert.deepEqual(readdirSync(target), ['assets']);
  });

  it('refuses the first unsafe entry even when it comes last, writing nothing', async () => {
    const work = tempDir('tar');
    writeRawTar(path.join(work, 'evil.tar'), [
      { name: 'a.txt', content: 'a' },
      { name: 'b.txt', content: 'b' },
      { name: 'sub/../../escape.txt', content: 'pwned' },
    ]);
    const target = path.join(work, 'target');
    await refused(extractTarSafely(path.join(work, 'evil.tar'), target), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /^archive entry "sub\/\.\.\/\.\.\/escape\.txt" contains a "\.\." segment$/);
    assert.deepEqual(readdirSync(work).sort(), ['evil.tar']);
  });

  it('refuses a file that is not a tar archive', async () => {
    const work = tempDir('tar');
    writeFileSync(path.join(work, 'junk.tar'), 'this is not a tar archive at all'.repeat(40));
    await refused(extractTarSafely(path.join(work, 'junk.tar'), path.join(work, 'out')), 'CAPSTAN_ARTIFACT_KEY_INVALID', /^the archive is not a readable tar file$/);
    assert.deepEqual(readdirSync(work), ['junk.tar']);
  });
});

describe('createTar', () => {
  it('packs a tree in sorted order and refuses trees holding links', async () => {
    const src = tempDir('pack');
    mkdirSync(path.join(src, 'b'));
    writeFileSync(path.join(src, 'b/2.txt'), '2');
    writeFileSync(path.join(src, 'a.txt'), '1');
    const work = tempDir('pack-out');
    const packed = await createTar(src, path.join(work, 'p.tar'));
    assert.deepEqual(packed, { files: ['a.txt', 'b/2.txt'], bytes: 2 });
    const out = await extractTarSafely(path.join(work, 'p.tar'), path.join(work, 'x'));
    assert.deepEqual(out.files, ['a.txt', 'b/2.txt']);

    symlinkSync('/etc/passwd', path.join(src, 'b/link'));
    await refused(createTar(src, path.join(work, 'q.tar')), 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /^directory entry "b\/link" is a symbolic link$/);
    assert.deepEqual(readdirSync(work).sort(), ['p.tar', 'x']);
  });
});
