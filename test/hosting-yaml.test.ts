import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import { toYaml, type GitopsService, type ResourceFile } from '../src/gitops/index.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { until } from './hosting-support.js';
import { cliJson, cliProblem, runCapstan } from './support/capstan-cli.js';

// Three js stages: pre turns {a, b} into {x}, mid doubles it into {y}, post adds one.
const STAGES: Record<string, string> = {
  pre: 'export function predict(m, input) { return { x: input.a + input.b }; }',
  mid: 'export function predict(m, input) { return { y: input.x * 2 }; }',
  post: 'export function predict(m, input) { return { answer: input.y + 1 }; }',
};

/** A serverless 3-stage pipeline, as a user writes it for `capstan endpoints create --file` or a gitops repository. */
const VARIANTS = `variants:
  - name: primary
    pipeline:
      - { name: pre, model: models:/pre/1 }
      - { name: mid, model: models:/mid/1, timeoutMs: 5000 }
      - { name: post, model: models:/post/1 }
    scaling: { min: 0, max: 2, idleTimeoutMs: 200, queueSize: 20 }
`;

for (const factory of await testDatabases()) {
  describe(`pipelines that scale to zero, from YAML: capstan endpoints create --file and kind: Endpoint (${factory.name})`, { skip: factory.skip }, () => {
    let t: TestServer;
    let dir: string;
    let dispose: () => Promise<void>;
    let gitops: GitopsService;

    const invoke = async (endpoint: string, body: unknown) => {
      const res = await fetch(`${t.url}/endpoints/${endpoint}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const workers = async (endpoint: string) => (await t.platform.serving.describe(endpoint)).variants[0].live?.workers;
    const files = (docs: Record<string, string>): ResourceFile[] => Object.entries(docs).map(([p, text]) => ({ path: p, text, baseDir: dir }));

    before(async () => {
      const db = await factory.create();
      await db.db.close();
      dispose = () => db.dispose();
      t = await startTestServer({ databaseUrl: db.url });
      gitops = t.platform.context<GitopsService>('gitops');
      dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-hosting-yaml-'));
      for (const [name, source] of Object.entries(STAGES)) {
        const pkg = path.join(dir, name);
        mkdirSync(pkg);
        writeFileSync(path.join(pkg, 'model.mjs'), source);
        writeFileSync(path.join(pkg, 'model.json'), JSON.stringify({ name, framework: 'js', entry: 'model.mjs' }));
        await registerApproved(t.platform.registry, name, { packageDir: pkg });
      }
    });
    after(async () => {
      await t?.dispose();
      await dispose?.().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });

    it('creates the pipeline with --file, scales every stage to zero, then answers through the cold start of all three', async () => {
      const file = path.join(dir, 'chain.yaml');
      writeFileSync(file, VARIANTS);
      const created = cliJson(await runCapstan(['--url', t.url, 'endpoints', 'create', 'chain', '--file', file, '--json']));
      assert.deepEqual(created.variants[0].pipeline.map((s: { name: string }) => s.name), ['pre', 'mid', 'post']);
      assert.equal(created.variants[0].pipeline[1].timeoutMs, 5000);
      assert.deepEqual({ min: created.variants[0].scaling.min, max: created.variants[0].scaling.max }, { min: 0, max: 2 });
      await until('every stage of chain to scale to zero', async () => (await workers('chain')) === 0);
      const answers = await Promise.all([1, 2, 3].map((a) => invoke('chain', { a, b: 1 })));
      assert.deepEqual(answers.map((r) => r.status), [200, 200, 200]);
      assert.deepEqual(answers.map((r) => r.json.answer), [5, 7, 9]);
    });

    it('applies the same variants as kind: Endpoint, re-applies and replays its exported document unchanged, and serves', async () => {
      const doc = `kind: Endpoint\nname: chain-git\n${VARIANTS}`;
      assert.deepEqual((await gitops.apply({ files: files({ 'chain.yaml': doc }) })).changes.map((c) => c.action), ['create']);
      assert.deepEqual((await gitops.apply({ files: files({ 'chain.yaml': doc }) })).changes.map((c) => c.action), ['unchanged']);
      const [view] = await gitops.get('endpoints', 'chain-git');
      assert.deepEqual((await gitops.apply({ files: files({ 'e.yaml': toYaml(view.document) }), dryRun: true })).changes.map((c) => c.action), ['unchanged']);
      const served = await invoke('chain-git', { a: 4, b: 4 });
      assert.equal(served.status, 200, JSON.stringify(served.json));
      assert.equal(served.json.answer, 17);
    });

    it('refuses a --file whose scaling has min above max, naming the field, and creates nothing', async () => {
      const file = path.join(dir, 'bad.yaml');
      writeFileSync(file, VARIANTS.replace('min: 0, max: 2', 'min: 3, max: 2'));
      const problem = cliProblem(await runCapstan(['--url', t.url, 'endpoints', 'create', 'chain-bad', '--file', file, '--json']));
      assert.equal(problem.code, 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID');
      assert.match(problem.detail, /variants\[0\]\.scaling\.min \(3\) is greater than variants\[0\]\.scaling\.max \(2\)/);
      await assert.rejects(t.platform.serving.describe('chain-bad'), (e: unknown) => isCapstanError(e, 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND'));
    });
  });
}
