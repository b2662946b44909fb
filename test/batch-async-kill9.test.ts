import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BatchContext } from '../src/batch/index.js';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { Worker } from '../src/storage/queue/worker.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { CapstanProcess } from './support/capstan-cli.js';

const SLEEPER = `
export function predict(model, input) { return new Promise((r) => setTimeout(() => r({ slept: input.sleep, n: input.n }), input.sleep)); }
`;

// A `capstan worker` is SIGKILLed while it runs asynchronous requests; once its leases expire another
// worker runs them, and each request ends with exactly one output and one success event.
for (const factory of await testDatabases()) {
  describe(`asynchronous invocations across kill -9 of a worker (${factory.name})`, { skip: factory.skip }, () => {
    let home: string;
    let database: TestDatabase;
    let platform: Platform;
    let env: Record<string, string>;

    before(async () => {
      home = mkdtempSync(path.join(os.tmpdir(), 'capstan-async-kill-'));
      database = await factory.create();
      env = { CAPSTAN_HOME: home, CAPSTAN_DATABASE_URL: database.url, CAPSTAN_QUEUE_LEASE_MS: '1500', CAPSTAN_QUEUE_HEARTBEAT_MS: '300', CAPSTAN_QUEUE_POLL_MS: '50' };
      platform = await openPlatform({ config: compileConfig({ flags: {}, env, cwd: home }), logger: silentLogger() });
      const dir = path.join(home, 'sleeper');
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'model.mjs'), SLEEPER);
      writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name: 'sleeper', framework: 'js', entry: 'model.mjs' }));
      await registerApproved(platform.registry, 'sleeper', { packageDir: dir });
      await platform.serving.create('slow', { variants: [{ model: 'models:/sleeper/1' }] });
    });
    after(async () => {
      await platform?.close();
      await database?.dispose();
      rmSync(home, { recursive: true, force: true });
    });

    it('loses nothing and writes nothing twice', async () => {
      const async = platform.context<BatchContext>('batch').async;
      const ids: string[] = [];
      for (let n = 0; n < 6; n++) ids.push((await async.invoke('slow', { body: JSON.stringify({ sleep: 1500, n }), inferenceId: `k-${n}` })).id);
      const worker = new CapstanProcess(['worker', '--queues', 'async'], { env });
      await pollUntil('requests in progress in the worker', async () => ((await async.get(ids[0])).state === 'InProgress' ? true : undefined), { deadlineMs: 120_000 });
      await worker.stop('SIGKILL');
      const states = await Promise.all(ids.map(async (id) => (await async.get(id)).state));
      assert.ok(states.some((s) => s !== 'Completed'), `the worker was killed with work left: ${states.join(',')}`);

      const rescue = new Worker({ queue: platform.queue, handlers: platform.jobHandlers, queues: ['async'], logger: silentLogger(), pollMs: 20 });
      await rescue.start();
      try {
        await pollUntil('every request to end', async () => ((await Promise.all(ids.map((id) => async.get(id)))).every((v) => v.state === 'Completed') ? true : undefined), { deadlineMs: 120_000 });
      } finally {
        await rescue.stop();
      }
      const outputs = await platform.artifacts.list('async/slow/output/');
      assert.deepEqual(outputs.map((o) => o.key.split('/').pop()).sort(), ids.map((id) => `${id}.out`).sort());
      for (const [n, id] of ids.entries()) {
        const v = await async.get(id);
        assert.deepEqual(JSON.parse((await platform.artifacts.get(platform.artifacts.keyFor(v.outputLocation))).toString()), { slept: 1500, n });
      }
      const events = await platform.db.kysely.selectFrom('outbox_events').select('subject').where('type', '=', 'async_invocation.succeeded').execute();
      const perId = new Map<string, number>();
      for (const e of events) {
        const id = String(e.subject).split('/').pop()!;
        perId.set(id, (perId.get(id) ?? 0) + 1);
      }
      assert.deepEqual(ids.map((id) => perId.get(id)), ids.map(() => 1), 'one success event per request');
    });
  });
}
