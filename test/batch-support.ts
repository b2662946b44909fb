import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BatchContext, BatchJob } from '../src/batch/index.js';
import { BATCH_TERMINAL_STATES } from '../src/batch/index.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { writeNcfPackage, type NcfFixture } from '../src/serving/test-support/ncf-package-fixture.js';
import type { S3TestServer } from '../src/storage/test-support/s3-test-server.js';
import type { TestDatabaseFactory } from '../src/storage/test-support/test-databases.js';
import { Worker } from '../src/storage/queue/worker.js';
import { silentLogger } from '../src/core/logger.js';

/** A platform with an NCF model registered as `ncf` (alias champion), and what batch tests do with it. */
export interface BatchFixture {
  test: TestPlatform;
  batch: BatchContext;
  fixture: NcfFixture;
  /** Writes an object into the artifact store and returns its URI. */
  put(key: string, text: string): Promise<string>;
  /** The text of an object by URI. */
  read(uri: string): Promise<string>;
  /** Starts a queue worker on `queues`; the returned function stops it. */
  work(queues: string[]): Promise<() => Promise<void>>;
  /** Runs a queue worker until the job ends, and returns it. */
  runToEnd(id: string): Promise<BatchJob>;
  dispose(): Promise<void>;
}

/** A js model taking CSV: answers the sum of the record's numeric fields as one CSV field. */
const CSV_SUM = `
export function preprocess(body) { return String(body); }
export function predict(model, text) { return text.split(',').reduce((a, f) => a + Number(f), 0); }
export function postprocess(sum) { return { body: String(sum), contentType: 'text/csv' }; }
`;

function writeCsvSumPackage(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.mjs'), CSV_SUM);
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ name: 'csvsum', framework: 'js', entry: 'model.mjs', contentTypes: ['text/csv'] }));
  return dir;
}

/** One ranking record: user `u` (dense index) with `n` candidate items. */
export function rankingRecord(fx: NcfFixture, u: number, n = 5, extra: Record<string, unknown> = {}): string {
  const items = Array.from({ length: n }, (_, i) => fx.itemIds[(u * 7 + i * 3) % fx.itemIds.length]);
  return JSON.stringify({ ...extra, user: fx.userIds[u % fx.userIds.length], items });
}

/** Opens a platform on `factory` (and S3 when given), registers the model and starts nothing yet. */
export async function openBatchFixture(factory: TestDatabaseFactory, s3?: { server: S3TestServer; bucket: string }, extraFlags: Record<string, unknown> = {}): Promise<BatchFixture> {
  const database = await factory.create();
  const flags: Record<string, unknown> = { databaseUrl: database.url, 'queue.pollMs': 20, 'queue.backoffBaseMs': 10, 'outbox.pollMs': 20, ...extraFlags };
  if (s3) Object.assign(flags, { artifacts: `s3://${s3.bucket}/capstan`, 's3.endpoint': s3.server.endpoint, 's3.accessKeyId': 'S3RVER', 's3.secretAccessKey': 'S3RVER' });
  const test = await openTestPlatform(flags);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'capstan-batch-'));
  const fixture = writeNcfPackage(path.join(scratch, 'pkg'));
  const v = await registerApproved(test.platform.registry, 'ncf', { packageDir: fixture.dir });
  await test.platform.registry.setAlias('ncf', 'champion', v.version);
  await registerApproved(test.platform.registry, 'csvsum', { packageDir: writeCsvSumPackage(path.join(scratch, 'csvsum')) });
  const batch = test.platform.context<BatchContext>('batch');
  const artifacts = test.platform.artifacts;
  return {
    test,
    batch,
    fixture,
    async put(key, text) {
      await artifacts.put(key, text);
      return artifacts.uriFor(key);
    },
    async read(uri) {
      return (await artifacts.get(artifacts.keyFor(uri))).toString('utf8');
    },
    async work(queues) {
      const worker = new Worker({ queue: test.platform.queue, handlers: test.platform.jobHandlers, queues, logger: silentLogger(), pollMs: 20 });
      await worker.start();
      return () => worker.stop();
    },
    async runToEnd(id) {
      const worker = new Worker({ queue: test.platform.queue, handlers: test.platform.jobHandlers, queues: ['batch'], logger: silentLogger(), pollMs: 20 });
      await worker.start();
      try {
        return await pollUntil(`batch job ${id} to end`, async () => {
          const job = await batch.batch.get(id);
          return BATCH_TERMINAL_STATES.includes(job.state) ? job : undefined;
        }, { deadlineMs: 120_000 });
      } finally {
        await worker.stop();
      }
    },
    async dispose() {
      await test.dispose();
      await database.dispose();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
