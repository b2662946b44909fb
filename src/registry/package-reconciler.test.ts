import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../platform/test-support/test-platform.js';
import { registrationOwner, removeAbandonedPackages } from './package-reconciler.js';
import { tinyOnnxModel } from '../serving/test-support/onnx-builder.js';
import { SqlRegistryStore } from './sql-registry-store.js';

const manifest = { name: 'm', framework: 'onnx', entry: 'model.onnx', signature: { inputs: [{ name: 'x' }], outputs: [{ name: 'score' }] } };

// A registration killed after reserving its version number (and maybe uploading part of its package)
// leaves a registration row and a folder no version row points to; a restart removes both when the
// registering process is dead, and never touches a registration a live process is still copying.
describe('model package folders a killed registration left', () => {
  let t: TestPlatform;
  let store: SqlRegistryStore;
  let pkg: string;
  before(async () => {
    t = await openTestPlatform();
    store = new SqlRegistryStore(t.platform.db);
    pkg = path.join(t.home, 'pkg');
    mkdirSync(pkg);
    writeFileSync(path.join(pkg, 'model.json'), JSON.stringify(manifest));
    writeFileSync(path.join(pkg, 'model.onnx'), tinyOnnxModel('m', ['x']));
  });
  after(async () => {
    await t?.dispose();
  });

  const keys = async (name: string) => (await t.platform.artifacts.list(`models/${name}/`)).map((i) => i.key).sort();

  it('removes at once the folder and registration of a dead process on this host (or an earlier one with this pid), keeps a live one and the recorded versions', async () => {
    await t.platform.registry.registerVersion('m', { packageDir: pkg });
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    assert.equal((await store.reserveVersion('m', `${hostname()}:${dead}:gone`)).version, 2);
    assert.equal((await store.reserveVersion('m', registrationOwner)).version, 3);
    // An earlier process that had this process's pid (a restarted container) under another token.
    assert.equal((await store.reserveVersion('m', `${hostname()}:${process.pid}:earlier`)).version, 4);
    for (const v of [2, 3, 4]) await t.platform.artifacts.put(`models/m/${v}/model.onnx`, 'half');

    assert.deepEqual(await removeAbandonedPackages(store, t.platform.artifacts), ['models/m/2/', 'models/m/4/']);
    assert.deepEqual(await keys('m'), ['models/m/1/model.json', 'models/m/1/model.onnx', 'models/m/3/model.onnx']);
    assert.deepEqual((await store.registrations()).map((r) => Number(r.version)), [3], 'only the live registration is left');
    const next = await t.platform.registry.registerVersion('m', { packageDir: pkg });
    assert.equal(next.version, 5, 'a consumed version number is not reused (versions may have gaps)');
  });

  it('removes a registration of another host and a folder with no row at all only once older than abandonedAfterMs', async () => {
    await t.platform.registry.registerVersion('o', { packageDir: pkg });
    const other = await store.reserveVersion('o', 'another-host:42:x');
    await t.platform.artifacts.put('models/o/2/model.onnx', 'half');
    // A folder with no registration row: what a process without registration rows left mid-copy.
    await t.platform.artifacts.put('models/o/9/model.onnx', 'half');
    const options = { abandonedAfterMs: 60_000 };
    assert.deepEqual(await removeAbandonedPackages(store, t.platform.artifacts, options), [], 'nothing is old enough yet');

    await store.q.updateTable('model_registrations').set({ created_at: Date.now() - 120_000 }).where('id', '=', other.registrationId).execute();
    const old = new Date(Date.now() - 120_000);
    utimesSync(path.join(t.home, 'artifacts', 'models', 'o', '9', 'model.onnx'), old, old);
    assert.deepEqual(await removeAbandonedPackages(store, t.platform.artifacts, options), ['models/o/2/', 'models/o/9/']);
    assert.deepEqual(await keys('o'), ['models/o/1/model.json', 'models/o/1/model.onnx']);
    assert.deepEqual((await store.registrations()).filter((r) => r.name === 'o'), []);
  });

  it('a finished registration leaves no registration row', async () => {
    const before = (await store.registrations()).length;
    await t.platform.registry.registerVersion('f', { packageDir: pkg });
    assert.equal((await store.registrations()).length, before);
  });
});
