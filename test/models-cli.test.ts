import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { main } from '../src/cli/main.js';
import { barChart, comparisonText } from '../src/cli/comparison-text.js';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { tinyOnnxModel } from '../src/serving/test-support/onnx-builder.js';

/**
 * Runs `capstan …` in-process and returns its exit code and output. Only string writes are captured:
 * the test runner itself talks to its parent through stdout in binary frames, which pass through.
 */
async function capstan(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => (typeof chunk === 'string' ? ((out += chunk), true) : write(chunk, ...rest))) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => (typeof chunk === 'string' ? ((err += chunk), true) : writeErr(chunk, ...rest))) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'capstan', ...args]);
    return { code, out, err };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
    process.exitCode = exitCode;
  }
}

/** Writes an ONNX package whose graph is tagged `weights`, so packages with different tags differ. */
function writePackage(dir: string, weights: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ framework: 'onnx', entry: 'model.onnx' }));
  writeFileSync(path.join(dir, 'model.onnx'), tinyOnnxModel(weights));
  return dir;
}

describe('capstan models (embedded)', () => {
  let home: string;
  before(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'capstan-cli-'));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  it('registers, approves, aliases, shows, compares, pulls and prints the history, each with --json', async () => {
    const h = ['--home', home];
    for (const [i, hr] of [0.55, 0.66, 0.61].entries()) {
      const r = await capstan(...h, 'models', 'register', 'ncf', '--artifact', writePackage(path.join(home, `pkg${i}`), `w${i}`), '--metric', `hr@10=${hr}`, '--metric', 'ndcg@10=0.3', '--param', 'epochs=10', '--json');
      assert.equal(r.code, 0, r.err + r.out);
      assert.equal(JSON.parse(r.out).version, i + 1);
    }
    const approve = await capstan(...h, 'models', 'approve', 'ncf', '2', '--comment', 'best', '--json');
    assert.equal(JSON.parse(approve.out).approval, 'Approved');
    assert.equal((await capstan(...h, 'models', 'alias', 'ncf', 'champion', '2', '--json')).code, 0);
    const shown = JSON.parse((await capstan(...h, 'models', 'show', 'ncf@champion', '--json')).out);
    assert.deepEqual([shown.version, shown.aliases], [2, ['champion']]);
    const group = JSON.parse((await capstan(...h, 'models', 'show', 'ncf', '--json')).out);
    assert.deepEqual(group.aliases, { champion: 2 });
    const listed = JSON.parse((await capstan(...h, 'models', 'list', '--json')).out);
    assert.deepEqual(listed.map((g: { name: string }) => g.name), ['ncf']);
    const versions = JSON.parse((await capstan(...h, 'models', 'versions', 'ncf', '--json')).out);
    assert.equal(versions.length, 3);

    const compared = JSON.parse((await capstan(...h, 'models', 'compare', 'ncf', '--metrics', 'hr@10,ndcg@10', '--json')).out);
    assert.equal(compared.best['hr@10'], 'ncf/2');
    const text = await capstan(...h, 'models', 'compare', 'ncf', '--metrics', 'hr@10');
    assert.match(text.out, /ID\s+APPROVAL\s+HR@10/);
    assert.match(text.out, /ncf\/2\s+Approved\s+0\.66/);

    const dest = path.join(home, 'pulled');
    const pulled = JSON.parse((await capstan(...h, 'models', 'pull', 'ncf@champion', dest, '--json')).out);
    assert.equal(pulled.version, 2);
    assert.deepEqual(readFileSync(path.join(dest, 'model.onnx')), tinyOnnxModel('w1'));

    const history = JSON.parse((await capstan(...h, 'models', 'history', 'ncf/2', '--json')).out);
    assert.deepEqual(history.map((e: { action: string }) => e.action), ['version.created', 'approval.changed', 'alias.set']);
    assert.match(history[1].actor, /^local:/);
    const rejected = JSON.parse((await capstan(...h, 'models', 'reject', 'ncf', '3', '--json')).out);
    assert.equal(rejected.approval, 'Rejected');
  });

  it('prints a problem with the catalogue code for bad input and changes nothing', async () => {
    const h = ['--home', home];
    const bad = await capstan(...h, 'models', 'register', 'NCF', '--artifact', path.join(home, 'pkg0'), '--json');
    assert.equal(bad.code, 1);
    assert.equal(JSON.parse(bad.out).code, 'CAPSTAN_NAME_INVALID');
    const noManifest = path.join(home, 'empty-pkg');
    mkdirSync(noManifest);
    writeFileSync(path.join(noManifest, 'model.onnx'), 'x');
    const invalid = await capstan(...h, 'models', 'register', 'ncf', '--artifact', noManifest);
    assert.equal(invalid.code, 1);
    assert.match(invalid.err, /no model\.json at its root \(CAPSTAN_REGISTRY_PACKAGE_INVALID\)/);
    const alias = await capstan(...h, 'models', 'alias', 'ncf', 'champion', '9', '--json');
    assert.equal(JSON.parse(alias.out).code, 'CAPSTAN_REGISTRY_VERSION_NOT_FOUND');
    const metric = await capstan(...h, 'models', 'register', 'ncf', '--artifact', path.join(home, 'pkg0'), '--metric', 'hr@10=abc', '--json');
    assert.equal(JSON.parse(metric.out).code, 'CAPSTAN_REGISTRY_METRIC_INVALID');
    const group = JSON.parse((await capstan(...h, 'models', 'show', 'ncf', '--json')).out);
    assert.deepEqual([group.latestVersion, group.aliases], [3, { champion: 2 }]);
  });

  it('creates a group with its auto-approval policy before the first version, which the policy then approves', async () => {
    const h = ['--home', home];
    const created = await capstan(...h, 'models', 'create', 'fraud', '--description', 'card fraud', '--auto-approve', 'metrics["auc"] >= 0.9', '--json');
    assert.equal(created.code, 0, created.err + created.out);
    const group = JSON.parse(created.out);
    assert.deepEqual([group.name, group.description, group.latestVersion, group.approvalPolicy], ['fraud', 'card fraud', 0, { autoApprove: 'metrics["auc"] >= 0.9' }]);
    const v = await capstan(...h, 'models', 'register', 'fraud', '--artifact', path.join(home, 'pkg0'), '--metric', 'auc=0.93', '--json');
    assert.equal(JSON.parse(v.out).approval, 'Approved');
    const again = await capstan(...h, 'models', 'create', 'fraud', '--json');
    assert.equal(JSON.parse(again.out).code, 'CAPSTAN_REGISTRY_MODEL_EXISTS');
  });

  it('refuses a bad auto-approval condition before creating the group', async () => {
    const h = ['--home', home];
    const bad = await capstan(...h, 'models', 'create', 'credit', '--auto-approve', 'metrics["auc"] >=', '--json');
    assert.equal(bad.code, 1);
    assert.equal(JSON.parse(bad.out).code, 'CAPSTAN_REGISTRY_POLICY_INVALID');
    const missing = await capstan(...h, 'models', 'show', 'credit', '--json');
    assert.equal(JSON.parse(missing.out).code, 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND');
  });

  it('draws one bar per row, scaled to the largest value', () => {
    const chart = barChart({ metrics: ['hr@10'], params: [], rows: [{ id: 'a', metrics: { 'hr@10': 0.5 }, params: {} }, { id: 'b', metrics: { 'hr@10': 1 }, params: {} }], best: { 'hr@10': 'b' } }, 10);
    assert.equal(chart, ['hr@10  (best: b)', `  a  ${'█'.repeat(5).padEnd(10)}  0.5`, `  b  ${'█'.repeat(10)}  1`].join('\n'));
  });
});

describe('models compare as a table', () => {
  const c = {
    metrics: ['auc'],
    params: ['epochs', 'lr', 'seed'],
    rows: [
      { id: 'm/1', metrics: { auc: 0.9 }, params: { epochs: '10', lr: '0.1', seed: '7' } },
      { id: 'm/2', metrics: { auc: 0.93 }, params: { epochs: '20', lr: '0.1', seed: '7' } },
    ],
    best: { auc: 'm/2' },
  };

  it('shows only the params that differ between versions, and says how many it left out', () => {
    assert.equal(comparisonText(c, false), ['ID   AUC   EPOCHS', 'm/1  0.9   10', 'm/2  0.93  20', '(2 params equal in every row not shown; --params a,b to choose)'].join('\n'));
  });

  it('shows every chosen param, equal or not', () => {
    assert.match(comparisonText(c, false, true), /^ID\s+AUC\s+EPOCHS\s+LR\s+SEED$/m);
  });
});

describe('capstan models --url (through the server)', () => {
  let home: string;
  let platform: Platform;
  let app: CapstanApp;
  let url: string;
  let key: string;

  before(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'capstan-cli-remote-'));
    const config = compileConfig({ flags: { home: path.join(home, 'server'), 'server.auth': true }, env: {}, cwd: home });
    platform = await openPlatform({ config, logger: silentLogger() });
    key = (await platform.apiKeys.create('ci', 'admin')).key;
    app = await buildApp(platform);
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app?.close();
    await platform?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('uploads a local package, registers it, and pulls it back with the digest verified', async () => {
    const r = ['--home', path.join(home, 'client'), '--url', url, '--api-key', key];
    const reg = await capstan(...r, 'models', 'register', 'remote-ncf', '--artifact', writePackage(path.join(home, 'pkg'), 'remote-weights'), '--metric', 'hr@10=0.7', '--json');
    assert.equal(reg.code, 0, reg.err + reg.out);
    const v = JSON.parse(reg.out);
    assert.equal(v.createdBy, 'key:ci');
    assert.match(v.artifactUri, /\/models\/remote-ncf\/1$/);
    assert.deepEqual(await platform.artifacts.list('uploads/'), [], 'the staged upload is removed after registration');
    const dest = path.join(home, 'remote-pulled');
    const pulled = await capstan(...r, 'models', 'pull', 'remote-ncf/1', dest, '--json');
    assert.equal(pulled.code, 0, pulled.err + pulled.out);
    assert.equal(JSON.parse(pulled.out).digest, v.digest);
    assert.deepEqual(readFileSync(path.join(dest, 'model.onnx')), tinyOnnxModel('remote-weights'));
    const approve = await capstan(...r, 'models', 'approve', 'remote-ncf', '1', '--json');
    assert.equal(JSON.parse(approve.out).approval, 'Approved');
  });
});
