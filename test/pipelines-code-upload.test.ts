import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { localPipelinesApi } from '../src/pipelines/pipelines-api.js';
import { HttpClient } from '../src/sdk/http-client.js';
import { PipelinesClient } from '../src/sdk/pipelines-client.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';

/** A pipeline definition whose `code` is `./src`, named `name`. */
const definition = (name: string) => `name: ${name}\ncode: ./src\nsteps:\n  - { name: a, type: processing, command: [sh, -c, "true"] }\n`;

describe('code upload: embedded apply and --url apply hash the same files', () => {
  let t: TestServer;
  let dir: string;
  before(async () => {
    t = await startTestServer();
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-code-'));
    const src = path.join(dir, 'src');
    mkdirSync(path.join(src, 'lib'), { recursive: true });
    writeFileSync(path.join(src, 'train.py'), 'print("train")\n');
    writeFileSync(path.join(src, 'lib', 'util.py'), 'X = 1\n');
    // Everything the skip list names, at the top and nested: none of it may reach either digest.
    for (const skipped of ['.git', 'node_modules', '__pycache__', '.capstan', '.venv', path.join('lib', 'node_modules'), path.join('lib', '__pycache__')]) {
      mkdirSync(path.join(src, skipped), { recursive: true });
      writeFileSync(path.join(src, skipped, 'junk.txt'), `${skipped}\n`);
    }
    writeFileSync(path.join(src, '.DS_Store'), 'finder');
    writeFileSync(path.join(src, 'lib', '.DS_Store'), 'finder');
  });
  after(async () => {
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same code digest for the same directory, with skipped folders and .DS_Store left out of both', async () => {
    const local = localPipelinesApi(t.platform.pipelines);
    const remote = new PipelinesClient(new HttpClient({ baseUrl: t.url }));
    const a = await local.apply({ yaml: definition('embedded'), file: 'embedded.yaml', baseDir: dir });
    const b = await remote.apply({ yaml: definition('remote'), file: 'remote.yaml', baseDir: dir });
    assert.match(a.pipeline.codeDigest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(b.pipeline.codeDigest, a.pipeline.codeDigest);
    const stored = (await t.platform.artifacts.list('pipelines/remote/code/')).map((o) => o.key.replace(/^pipelines\/remote\/code\/[0-9a-f]+\//, '')).sort();
    assert.deepEqual(stored, ['lib/util.py', 'train.py']);
  });

  it('refuses a symbolic link in the code directory on both paths, storing nothing', async () => {
    const linked = mkdtempSync(path.join(os.tmpdir(), 'capstan-code-link-'));
    try {
      mkdirSync(path.join(linked, 'src'));
      writeFileSync(path.join(linked, 'src', 'train.py'), 'print(1)\n');
      symlinkSync('/etc/hostname', path.join(linked, 'src', 'host'));
      const local = localPipelinesApi(t.platform.pipelines);
      const remote = new PipelinesClient(new HttpClient({ baseUrl: t.url }));
      await assert.rejects(local.apply({ yaml: definition('linked-a'), file: 'a.yaml', baseDir: linked }), { code: 'CAPSTAN_PIPELINE_CODE_INVALID' });
      await assert.rejects(remote.apply({ yaml: definition('linked-b'), file: 'b.yaml', baseDir: linked }), { code: 'CAPSTAN_PIPELINE_CODE_INVALID' });
      const names = (await t.platform.pipelines.list()).map((p) => p.name);
      assert.ok(!names.includes('linked-a') && !names.includes('linked-b'), names.join(','));
    } finally {
      rmSync(linked, { recursive: true, force: true });
    }
  });
});
