import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseManifest as registryParseManifest } from './model-package.js';
import { isCapstanError } from '../core/errors.js';
import { readManifest } from '../core/model-manifest.js';

describe('the model manifest (model.json)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-manifest-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes `manifest` as model.json and returns what the registry and serving make of it. */
  const both = (manifest: unknown, files = ['model.json', 'model.onnx']) => {
    const text = JSON.stringify(manifest);
    writeFileSync(path.join(dir, 'model.json'), text);
    return { registry: registryParseManifest(text, files), serving: readManifest(dir) };
  };

  it('reads the same manifest in the registry and in serving, for packages registered before (minimal, list and map signatures)', () => {
    const ncfStyle = {
      name: 'ncf', framework: 'onnx', entry: 'model.onnx', handler: 'builtin:ncf-ranking',
      signature: { inputs: [{ name: 'user', dtype: 'int64', shape: [-1] }], outputs: [{ name: 'score', dtype: 'float32', shape: [-1] }] },
      assets: { userIds: 'user-ids.json' }, metadata: { numUsers: 3 },
    };
    const r = both(ncfStyle);
    assert.deepEqual(r.registry, r.serving);
    assert.deepEqual(r.serving, ncfStyle);
    const minimal = both({ framework: 'onnx', entry: 'model.onnx' });
    assert.deepEqual(minimal.registry, minimal.serving);
    assert.deepEqual(minimal.serving, { name: 'model', framework: 'onnx', entry: 'model.onnx', signature: { inputs: [], outputs: [] }, assets: {}, metadata: {} });
    const mapForm = both({ framework: 'onnx', entry: 'model.onnx', signature: { inputs: { x: { dtype: 'float32', shape: [-1, 4] } } } });
    assert.deepEqual(mapForm.registry.signature.inputs, [{ name: 'x', dtype: 'float32', shape: [-1, 4] }]);
    assert.deepEqual(mapForm.registry, mapForm.serving);
  });

  it('refuses at registration what serving would refuse at deploy, with the registry\'s code', () => {
    for (const [manifest, message] of [
      [{ framework: 'onnx', entry: 'model.onnx', handler: '../outside.mjs' }, /"handler" must be builtin:<name> or a path inside the package/],
      [{ framework: 'onnx', entry: 'model.onnx', assets: { ids: '/etc/passwd' } }, /assets\.ids must be a path inside the package/],
      [{ framework: 'onnx', entry: 'model.onnx', signature: { inputs: [{ name: 'x', shape: 3 }] } }, /signature\.inputs\[0\]\.shape must be a list/],
    ] as const) {
      assert.throws(() => registryParseManifest(JSON.stringify(manifest), ['model.json', 'model.onnx']), (err) => isCapstanError(err, 'CAPSTAN_REGISTRY_PACKAGE_INVALID') && message.test(err.message), JSON.stringify(manifest));
      writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest));
      assert.throws(() => readManifest(dir), (err) => isCapstanError(err, 'CAPSTAN_SERVING_MODEL_PACKAGE_INVALID') && message.test(err.message));
    }
  });
});
