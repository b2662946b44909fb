import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { cliJson, cliProblem, runCapstan } from './support/capstan-cli.js';

const CONFIG = `kind: Pipeline
name: churn
code: src
steps:
  - name: train
    type: training
    command: [python3, train.py]
`;

describe('capstan apply / get / delete through the CLI, embedded and over --url', () => {
  let server: TestServer;
  let dir: string;
  let home: string;
  before(async () => {
    server = await startTestServer();
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-apply-cli-'));
    home = mkdtempSync(path.join(os.tmpdir(), 'capstan-apply-home-'));
    mkdirSync(path.join(dir, 'ml', 'src'), { recursive: true });
    writeFileSync(path.join(dir, 'ml', 'config.yaml'), CONFIG);
    writeFileSync(path.join(dir, 'ml', 'models.yaml'), 'kind: ModelGroup\nname: churn\ndescription: churn models\n');
    writeFileSync(path.join(dir, 'ml', 'src', 'train.py'), 'print("train")\n');
  });
  after(async () => {
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  for (const where of ['remote', 'embedded'] as const) {
    const args = (a: string[]) => (where === 'remote' ? [...a, '--url', server.url] : [...a, '--home', home]);

    it(`plans, applies idempotently, exports and deletes (${where})`, async () => {
      const plan = cliJson(await runCapstan(args(['apply', '-f', 'ml', '--dry-run', '--json']), { cwd: dir }));
      assert.deepEqual(plan.changes.map((c: any) => [c.kind, c.name, c.action, c.file]), [['ModelGroup', 'churn', 'create', 'ml/models.yaml'], ['Pipeline', 'churn', 'create', 'ml/config.yaml']]);
      const human = await runCapstan(args(['apply', '-f', 'ml']), { cwd: dir });
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^Pipeline\/churn created {2}\(ml\/config\.yaml\)$/m);
      assert.match(human.stdout, /applied: 2 created, 0 updated, 0 deleted, 0 unchanged/);
      const again = cliJson(await runCapstan(args(['apply', '-f', 'ml', '--json']), { cwd: dir }));
      assert.deepEqual(again.changes.map((c: any) => c.action), ['unchanged', 'unchanged']);

      // What get -o yaml writes, put in place of the original file, plans no change.
      const yaml = await runCapstan(args(['get', 'pipeline', 'churn', '-o', 'yaml']), { cwd: dir });
      assert.equal(yaml.code, 0, yaml.stderr);
      assert.match(yaml.stdout, /^# source: file ml\/config\.yaml\nkind: Pipeline\nname: churn\n/);
      writeFileSync(path.join(dir, 'ml', 'config.yaml'), yaml.stdout);
      const replay = cliJson(await runCapstan(args(['apply', '-f', 'ml', '--dry-run', '--json']), { cwd: dir }));
      assert.deepEqual(replay.changes.map((c: any) => [c.kind, c.action]), [['ModelGroup', 'unchanged'], ['Pipeline', 'unchanged']]);
      writeFileSync(path.join(dir, 'ml', 'config.yaml'), CONFIG);

      const same = await runCapstan(args(['apply', '-f', 'ml', '--dry-run']), { cwd: dir });
      assert.match(same.stdout, /plan: 0 to create, 0 to update, 0 to delete, 2 unchanged/);
      writeFileSync(path.join(dir, 'ml', 'src', 'train.py'), `print("train ${where}")\n`);
      const changed = await runCapstan(args(['apply', '-f', 'ml', '--dry-run']), { cwd: dir });
      assert.match(changed.stdout, /^Pipeline\/churn will be updated/m);
      assert.match(changed.stdout, /^ {4}- # code sha256:[0-9a-f]{64}\n {4}\+ # code sha256:[0-9a-f]{64}$/m);

      const list = cliJson(await runCapstan(args(['get', 'models', '--json']), { cwd: dir }));
      assert.deepEqual(list.map((v: any) => [v.name, v.managed.source.file]), [['churn', 'ml/models.yaml']]);
      const deleted = await runCapstan(args(['delete', 'pipeline', 'churn']), { cwd: dir });
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(cliProblem(await runCapstan(args(['get', 'pipeline', 'churn', '--json']), { cwd: dir })).code, 'CAPSTAN_GITOPS_RESOURCE_NOT_FOUND');
    });

    it(`lists every error of a bad file with file, line and path and applies nothing (${where})`, async () => {
      writeFileSync(path.join(dir, 'bad.yaml'), 'kind: ModelGroup\nname: bad-but-valid\n---\nkind: Widget\nname: w\n---\nkind: Endpoint\nname: e\nvariants: []\n');
      const p = cliProblem(await runCapstan(args(['apply', '-f', 'bad.yaml', '--json']), { cwd: dir }));
      assert.equal(p.code, 'CAPSTAN_GITOPS_INVALID');
      assert.equal(p.status, 400);
      assert.match(p.detail, /^bad\.yaml:4:\d+ kind: unknown kind "Widget"/m);
      assert.match(p.detail, /^bad\.yaml:9:\d+ variants: an endpoint needs at least one production variant/m);
      assert.equal(cliProblem(await runCapstan(args(['get', 'model', 'bad-but-valid', '--json']), { cwd: dir })).code, 'CAPSTAN_GITOPS_RESOURCE_NOT_FOUND');
    });
  }
});
