import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer } from '../src/server/test-support/test-server.js';
import { cliJson, cliProblem, runCapstan } from './support/capstan-cli.js';

describe('capstan artifacts (embedded and through --url)', () => {
  let dir: string;
  let home: string;
  const capstan = (...args: string[]) => runCapstan(args, { cwd: dir, env: { CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'silent' } });

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-artifacts-cli-'));
    home = path.join(dir, 'home');
    writeFileSync(path.join(dir, 'interactions.csv'), 'user,item\n1,2\n1,3\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('uploads a file under a prefix, lists it with the URI a pipeline parameter takes, and downloads it back', async () => {
    const put = cliJson(await capstan('artifacts', 'put', 'interactions.csv', 'datasets/interactions/', '--json'));
    assert.equal(put.key, 'datasets/interactions/interactions.csv');
    assert.equal(put.size, 18);
    assert.match(put.sha256, /^[0-9a-f]{64}$/);
    assert.equal(put.uri, `file://${path.join(home, 'artifacts', 'datasets', 'interactions', 'interactions.csv')}`);
    assert.equal(readFileSync(new URL(put.uri), 'utf8'), 'user,item\n1,2\n1,3\n');

    const ls = cliJson(await capstan('artifacts', 'ls', 'datasets/', '--json'));
    assert.deepEqual(ls.artifacts.map((a: { key: string }) => a.key), ['datasets/interactions/interactions.csv']);
    assert.equal(ls.artifacts[0].uri, put.uri);

    const got = cliJson(await capstan('artifacts', 'get', 'datasets/interactions/interactions.csv', 'copy.csv', '--json'));
    assert.equal(got.path, path.join(dir, 'copy.csv'));
    assert.equal(readFileSync(path.join(dir, 'copy.csv'), 'utf8'), 'user,item\n1,2\n1,3\n');
  });

  it('refuses a missing local file, an unsafe key and a missing object with their codes, writing nothing', async () => {
    const before = cliJson(await capstan('artifacts', 'ls', '--json')).artifacts.length;
    const missing = cliProblem(await capstan('artifacts', 'put', 'no-such.csv', 'datasets/x.csv', '--json'));
    assert.equal(missing.code, 'CAPSTAN_ARTIFACT_LOCAL_FILE_INVALID');
    assert.match(missing.detail, /no-such\.csv does not exist/);
    const unsafe = cliProblem(await capstan('artifacts', 'put', 'interactions.csv', '../outside.csv', '--json'));
    assert.equal(unsafe.code, 'CAPSTAN_ARTIFACT_UNSAFE_PATH');
    assert.equal(existsSync(path.join(home, 'outside.csv')), false);
    const dotted = cliProblem(await capstan('artifacts', 'put', 'interactions.csv', 'x/../ok/a.txt', '--json'));
    assert.equal(dotted.code, 'CAPSTAN_ARTIFACT_UNSAFE_PATH');
    const gone = cliProblem(await capstan('artifacts', 'get', 'datasets/none.csv', 'none.csv', '--json'));
    assert.equal(gone.code, 'CAPSTAN_ARTIFACT_NOT_FOUND');
    assert.equal(existsSync(path.join(dir, 'none.csv')), false);
    assert.equal(cliJson(await capstan('artifacts', 'ls', '--json')).artifacts.length, before);
  });

  it("refuses to overwrite or add files in a model version's package, embedded and through --url, changing nothing", async () => {
    const pkg = path.join(dir, 'pkg');
    mkdirSync(pkg);
    writeFileSync(path.join(pkg, 'model.json'), JSON.stringify({ name: 'adder', framework: 'js', entry: 'model.mjs' }));
    writeFileSync(path.join(pkg, 'model.mjs'), 'export function predict(m, x) { return x.a + x.b; }\n');
    const t = await startTestServer({}, { home });
    try {
      await t.platform.registry.registerVersion('adder', { packageDir: pkg });
      const attempts = [[[], 'models/adder/1/model.mjs'], [[], 'models/adder/2/model.mjs'], [['--url', t.url], 'models/adder/1/extra.mjs']] as const;
      for (const [prefix, key] of attempts) {
        const refused = cliProblem(await capstan(...prefix, 'artifacts', 'put', 'interactions.csv', key, '--json'));
        assert.equal(refused.code, 'CAPSTAN_REGISTRY_VERSION_IMMUTABLE', key);
        assert.equal(refused.status, 409);
        assert.match(refused.detail, /lies in the package of model adder version [12], which only the registry writes and which cannot change once registered/);
      }
      assert.deepEqual((await t.platform.artifacts.list('models/adder/')).map((a) => a.key), ['models/adder/1/model.json', 'models/adder/1/model.mjs']);
      assert.equal((await t.platform.artifacts.get('models/adder/1/model.mjs')).toString(), 'export function predict(m, x) { return x.a + x.b; }\n');
    } finally {
      await t.dispose();
    }
  });

  it('does the same through a running server with --url', async () => {
    const server = await startTestServer({}, { home });
    try {
      const put = cliJson(await capstan('--url', server.url, 'artifacts', 'put', 'interactions.csv', 'remote/a b.csv', '--json'));
      assert.equal(put.key, 'remote/a b.csv');
      const ls = cliJson(await capstan('--url', server.url, 'artifacts', 'ls', 'remote/', '--json'));
      assert.deepEqual(ls.artifacts.map((a: { key: string; size: number }) => [a.key, a.size]), [['remote/a b.csv', 18]]);
      const got = cliJson(await capstan('--url', server.url, 'artifacts', 'get', 'remote/a b.csv', 'remote-copy.csv', '--json'));
      assert.equal(got.sha256, put.sha256);
      assert.equal(readFileSync(path.join(dir, 'remote-copy.csv'), 'utf8'), 'user,item\n1,2\n1,3\n');
      const dotted = cliProblem(await capstan('--url', server.url, 'artifacts', 'put', 'interactions.csv', 'x/../ok/a.txt', '--json'));
      assert.equal(dotted.code, 'CAPSTAN_ARTIFACT_UNSAFE_PATH');
      assert.deepEqual(cliJson(await capstan('--url', server.url, 'artifacts', 'ls', 'ok/', '--json')).artifacts, [], '".." is refused, not resolved away');
      const unicode = cliJson(await capstan('--url', server.url, 'artifacts', 'put', 'interactions.csv', 'remote/日本.txt', '--json'));
      const gotUnicode = cliJson(await capstan('--url', server.url, 'artifacts', 'get', 'remote/日本.txt', 'unicode-copy.csv', '--json'));
      assert.equal(gotUnicode.uri, unicode.uri, 'the percent-encoded URI header is decoded');
      assert.match(gotUnicode.uri, /remote\/日本\.txt$/);
      const gone = cliProblem(await capstan('--url', server.url, 'artifacts', 'get', 'remote/none.csv', 'r-none.csv', '--json'));
      assert.equal(gone.code, 'CAPSTAN_ARTIFACT_NOT_FOUND');
      assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('r-none')), [], 'no partial file is left');
    } finally {
      await server.dispose();
    }
  });
});
