import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import type { RegistrationPoint } from '../src/registry/registration-pause.js';
import { SqlRegistryStore } from '../src/registry/sql-registry-store.js';
import { tinyOnnxModel } from '../src/serving/test-support/onnx-builder.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { CapstanProcess } from './support/capstan-cli.js';

const until = <T>(what: string, probe: () => Promise<T | undefined> | T | undefined) => pollUntil(what, async () => probe(), { deadlineMs: 300_000, intervalMs: 100 });

const manifest = { name: 'm', framework: 'onnx', entry: 'model.onnx', signature: { inputs: [{ name: 'x' }], outputs: [{ name: 'score' }] } };

// kill -9 of a real `capstan models register` at exact points of a registration (after reserving its version number, mid-upload, after the upload) (paused there through
// the test-only registry.testPauseAt, so no timing is guessed), then a restart (`capstan up`): the
// restart must leave nothing of a killed registration behind — no package folder without a version
// row, no registration row, no staging file, no version whose files are missing — and must not touch a
// registration that a live process is still running.
for (const factory of await testDatabases()) {
  describe(`capstan models register killed with -9 (${factory.name})`, { skip: factory.skip }, () => {
    let home: string;
    let database: TestDatabase;
    let platform: Platform;
    let store: SqlRegistryStore;
    let pkg: string;
    const processes: CapstanProcess[] = [];
    before(async () => {
      home = mkdtempSync(path.join(os.tmpdir(), 'capstan-register-kill9-'));
      database = await factory.create();
      // The test's own view of the same home and database; its background services never start.
      platform = await openPlatform({ config: compileConfig({ flags: { home, databaseUrl: database.url }, env: {}, cwd: home }), logger: silentLogger() });
      store = new SqlRegistryStore(platform.db);
      pkg = path.join(home, 'pkg');
      mkdirSync(path.join(pkg, 'assets'), { recursive: true });
      writeFileSync(path.join(pkg, 'model.json'), JSON.stringify(manifest));
      // Registration loads the graph, so the model is real; the large asset is what is caught mid-upload.
      writeFileSync(path.join(pkg, 'model.onnx'), tinyOnnxModel('m', ['x']));
      writeFileSync(path.join(pkg, 'assets', 'items.json'), '[1,2,3]');
      writeFileSync(path.join(pkg, 'assets', 'weights.bin'), Buffer.alloc(256 * 1024, 7));
    });
    after(async () => {
      for (const p of processes) await p.stop('SIGKILL');
      await platform?.close();
      await database?.dispose();
      rmSync(home, { recursive: true, force: true });
    });

    const env = (extra: Record<string, string> = {}) => ({ CAPSTAN_HOME: home, CAPSTAN_DATABASE_URL: database.url, CAPSTAN_LOG_LEVEL: 'error', ...extra });
    const start = (p: CapstanProcess) => (processes.push(p), p);
    /** `capstan up`, once it printed where it listens. */
    const startUp = async () => {
      const p = start(new CapstanProcess(['up', '--port', '0', '--json'], { cwd: home, env: env() }));
      await p.until('capstan up to listen', (q) => q.documents()[0], 120_000);
      return p;
    };
    /** A `capstan models register` that stops for good at `point` and is left running there. */
    const pausedRegistration = async (point: RegistrationPoint) => {
      const p = start(new CapstanProcess(['models', 'register', 'm', '--artifact', pkg, '--json'], { cwd: home, env: env({ CAPSTAN_TEST_REGISTRY_PAUSE_AT: point }) }));
      const marker = path.join(home, `registry-paused-${point}`);
      await until(`the registration to pause at ${point}`, () => (existsSync(marker) ? true : undefined));
      rmSync(marker);
      return p;
    };
    const folders = async () => [...new Set((await platform.artifacts.list('models/m/')).map((i) => Number(i.key.split('/')[2])))].sort((a, b) => a - b);
    const versions = async () => (await platform.registry.listVersions('m')).map((v) => v.version);
    const stagingFiles = () => {
      const staging = path.join(home, 'artifacts', '.staging');
      return existsSync(staging) ? readdirSync(staging) : [];
    };
    const registrations = async () => (await store.registrations()).map((r) => Number(r.version)).sort((a, b) => a - b);

    it('a restart removes the package and registration of registrations killed after reserving, mid-upload and after uploading, keeps a live one, and leaves every version whole', async () => {
      const first = await platform.registry.registerVersion('m', { packageDir: pkg });
      assert.equal(first.version, 1);

      // Version 2: copied completely, its process still alive and about to record the version.
      const live = await pausedRegistration('uploaded');
      // Version 3: killed right after its number was reserved, before any byte was copied.
      await (await pausedRegistration('reserved')).stop('SIGKILL');
      // Version 4: killed mid-upload, one file stored and the next half written to the staging area.
      await (await pausedRegistration('uploading')).stop('SIGKILL');
      assert.deepEqual(await registrations(), [2, 3, 4]);
      assert.deepEqual(await folders(), [1, 2, 4]);
      assert.notDeepEqual(stagingFiles(), [], 'the upload killed midway left a staging file');

      // A restart while version 2's process lives: only the leftovers of versions 3 and 4 go.
      let up = await startUp();
      await until('the restart to drop the dead registrations', async () => ((await registrations()).length === 1 ? true : undefined));
      await up.stop('SIGTERM'); // waits for the reconciliation pass to end
      assert.deepEqual(await registrations(), [2], 'the registration a live process runs is kept');
      assert.deepEqual(await folders(), [1, 2], 'and so is its package');
      assert.deepEqual(stagingFiles(), [], 'the dead upload\'s staging file is gone');

      // Now version 2's process dies too, after its upload and before the version row commits.
      await live.stop('SIGKILL');
      up = await startUp();
      await until('the restart to drop every dead registration', async () => ((await registrations()).length === 0 ? true : undefined));
      await up.stop('SIGTERM');

      assert.deepEqual(await versions(), [1]);
      assert.deepEqual(await folders(), [1], 'no package folder without a version row');
      for (const v of await platform.registry.listVersions('m')) {
        const pulled = await platform.registry.pullVersion(`m/${v.version}`, path.join(home, `pulled-${v.version}`));
        assert.equal(pulled.digest, v.digest, 'every version row points at its complete, verified files');
      }
      assert.deepEqual(stagingFiles(), [], 'no staging file is left');
      assert.deepEqual(await platform.registry.listRuns({ status: 'running' }), [], 'no run is left running');

      const next = await platform.registry.registerVersion('m', { packageDir: pkg });
      assert.equal(next.version, 5, 'numbers of killed registrations stay consumed (documented gaps)');
    });
  });
}
