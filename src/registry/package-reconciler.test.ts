import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../platform/test-support/test-platform.js';
import { removeAbandonedPackages } from './package-reconciler.js';
import { SqlRegistryStore } from './sql-registry-store.js';

const manifest = { name: 'm', framework: 'onnx', entry: 'model.onnx', signature: { inputs: [{ name: 'x' }], outputs: [{ name: 'y' }] } };

// A registration killed after reserving its version number and uploading part of the package leaves
// a folder no version row points to; a restart removes it once nothing has written to it for a while.
describe('model package folders a killed registration left', () => {
  let t: TestPlatform;
  before(async () => {
    t = await openTestPlatform();
  });
  after(async () => {
    await t?.dispose();
  });

  it('are removed when abandoned; recorded versions and a registration still uploading are kept', async () => {
    const pkg = path.join(t.home, 'pkg');
    mkdirSync(pkg);
    writeFileSync(path.join(pkg, 'model.json'), JSON.stringify(manifest));
    writeFileSync(path.join(pkg, 'model.onnx'), 'weights');
    await t.platform.registry.registerVersion('m', { packageDir: pkg });
    const store = new SqlRegistryStore(t.platform.db);
    // Two registrations that reserved versions 2 and 3 and uploaded part of their package: 2 was
    // killed an hour ago, 3 is still uploading.
    assert.equal((await store.reserveVersion('m')).version, 2);
    assert.equal((await store.reserveVersion('m')).version, 3);
    await t.platform.artifacts.put('models/m/2/model.onnx', 'half');
    await t.platform.artifacts.put('models/m/3/model.onnx', 'half');
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(path.join(t.home, 'artifacts', 'models', 'm', '2', 'model.onnx'), old, old);

    assert.deepEqual(await removeAbandonedPackages(store, t.platform.artifacts), ['models/m/2/']);
    assert.deepEqual((await t.platform.artifacts.list('models/m/')).map((i) => i.key).sort(), ['models/m/1/model.json', 'models/m/1/model.onnx', 'models/m/3/model.onnx']);
    const next = await t.platform.registry.registerVersion('m', { packageDir: pkg });
    assert.equal(next.version, 4, 'a consumed version number is not reused (versions may have gaps)');
  });
});
