import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCapstan } from './support/capstan-cli.js';

// A path the user gave that cannot be used is a catalogue error naming that path, never a raw errno
// code and never a hang.
describe('capstan names the path the user gave when it cannot use it', () => {
  let dir: string;
  const capstan = (...args: string[]) => runCapstan(args, { cwd: dir, env: { CAPSTAN_HOME: path.join(dir, 'home'), CAPSTAN_LOG_LEVEL: 'silent' }, timeoutMs: 60_000 });
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-paths-'));
    writeFileSync(path.join(dir, 'a-file'), 'not a directory');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--home under /proc fails at once with CAPSTAN_CONFIG_INVALID instead of spinning', { skip: existsSync('/proc/self') ? undefined : 'needs /proc' }, async () => {
    const run = await capstan('--home', '/proc/nope', 'pipeline', 'list');
    assert.equal(run.signal, null, 'the process ended by itself');
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'error: cannot use /proc/nope as the home directory: its parent does not accept new directories (CAPSTAN_CONFIG_INVALID)\n');
  });

  it('--home naming a file says it is not a directory', async () => {
    const run = await capstan('--home', 'a-file', 'models', 'list');
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `error: cannot use ${path.join(dir, 'a-file')} as the home directory: exists and is not a directory (CAPSTAN_CONFIG_INVALID)\n`);
  });

  it('a missing --body-file is CAPSTAN_REQUEST_INVALID naming it', async () => {
    const run = await capstan('endpoints', 'invoke', 'e', '--body-file', 'bodies/missing.json');
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'error: cannot read --body-file bodies/missing.json: does not exist (CAPSTAN_REQUEST_INVALID)\n');
  });

  it('a missing demo ratings file names the whole path given', async () => {
    const run = await capstan('demo', '--ratings', 'data/ml/ratings.csv', '--exit');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: cannot read data\/ml\/ratings\.csv: does not exist \(CAPSTAN_NCF_FILE_NOT_FOUND\)\n$/m);
  });

  it('a missing ncf train --ratings file names the whole path given', async () => {
    const run = await capstan('ncf', 'train', '--ratings', 'data/ml/ratings.csv', '--out', 'out');
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'error: no ratings file "data/ml/ratings.csv" (CAPSTAN_NCF_FILE_NOT_FOUND)\n');
  });
});
