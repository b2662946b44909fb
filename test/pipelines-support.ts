import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../src/core/logger.js';
import { webhookHeaders } from '../src/core/webhook-signature.js';
import type { ExecutionRecord } from '../src/pipelines/execution.js';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { PipelineService, type PipelinesOptions } from '../src/pipelines/pipeline-service.js';
import { TriggerWatcher, type TriggerWatcherOptions } from '../src/pipelines/triggers/trigger-watcher.js';
import type { RegistryService } from '../src/registry/registry-service.js';
import type { ArtifactStore } from '../src/storage/artifacts/artifact-store.js';
import { FileArtifactStore } from '../src/storage/artifacts/file-artifact-store.js';
import type { Database } from '../src/storage/database.js';
import type { TestDatabaseFactory } from '../src/storage/test-support/test-databases.js';

/** Applies YAML (code dir = `baseDir`) and starts an execution; `done` runs it to the end in this process. */
export async function startPipeline(service: PipelineService, yaml: string, baseDir: string, params?: Record<string, unknown>): Promise<{ id: string; done: Promise<ExecutionRecord> }> {
  const { pipeline } = await service.apply(parsePipelineYaml(yaml, 'test.yaml', baseDir));
  const exec = await service.start(pipeline.name, { params, trigger: { type: 'manual', by: 'test' } });
  return { id: exec.id, done: service.wait(exec.id) };
}

/** A pipelines context on a throwaway database and artifact directory. */
export interface PipelinesFixture {
  service: PipelineService;
  artifacts: ArtifactStore;
  dir: string;
  /** The database URL (for child processes). */
  url: string;
  /** The fixture's metadata database. */
  db: Database;
  /** A trigger watcher over this fixture's pipelines and store, as `capstan up` runs one. */
  watcher(options?: TriggerWatcherOptions): TriggerWatcher;
  /** Applies YAML (code dir = `dir`), starts an execution and runs it to the end in this process. */
  run(yaml: string, params?: Record<string, unknown>): Promise<ExecutionRecord>;
  dispose(): Promise<void>;
}

/** Builds a fixture; `registry` is optional (register-model steps need it); `artifacts` defaults to a directory store. */
export async function pipelinesFixture(factory: TestDatabaseFactory, options: PipelinesOptions & { registry?: RegistryService; artifacts?: ArtifactStore } = {}): Promise<PipelinesFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-pl-'));
  const database = await factory.create();
  const artifacts = options.artifacts ?? (await FileArtifactStore.open(path.join(dir, 'artifacts')));
  const service = new PipelineService(
    { db: database.db, artifacts, logger: silentLogger(), registry: options.registry ? () => options.registry : undefined },
    { scheduler: { leaseMs: 5000, ...options.scheduler }, local: { workRoot: path.join(dir, 'work'), killGraceMs: 500, ...options.local }, kubernetesMissing: options.kubernetesMissing },
  );
  return {
    service,
    artifacts,
    dir,
    url: database.url,
    db: database.db,
    watcher(watcherOptions = { artifactPollMs: 0 }) {
      return new TriggerWatcher({ listPipelines: () => service.list(), start: (n, i) => service.start(n, i) }, service.triggers, artifacts, silentLogger(), watcherOptions);
    },
    async run(yaml, params) {
      return (await startPipeline(service, yaml, dir, params)).done;
    },
    async dispose() {
      await service.close();
      await artifacts.close();
      await database.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The artifact-trigger scenario, run on every store: an object there before the trigger never fires;
 * one written right after it (the same second, which S3 cannot tell apart) does, once, also after the
 * watcher restarts; a later one fires too; the started execution runs.
 */
export async function artifactArrivals(fx: PipelinesFixture): Promise<void> {
  await fx.artifacts.put('incoming/old.csv', 'before the trigger existed');
  await fx.service.apply(parsePipelineYaml(`name: on-arrival
parameters:
  dataset: { type: string }
steps:
  - { name: s, type: processing, command: "true" }
triggers:
  - { name: arrivals, type: artifact, prefix: incoming/, parameter: dataset }
`, 't.yaml', fx.dir));
  await fx.artifacts.put('incoming/a.csv', 'a');
  const first = await fx.watcher().tick();
  assert.equal(first.length, 1);
  assert.equal(first[0].params.dataset, fx.artifacts.uriFor('incoming/a.csv'));
  assert.deepEqual(first[0].trigger, { type: 'artifact', by: 'artifact:arrivals', detail: { key: 'incoming/a.csv', sha256: first[0].trigger.detail!.sha256 } });
  assert.equal((await fx.watcher().tick()).length, 0, 'a restarted watcher does not fire the same object again');
  await fx.artifacts.put('incoming/b.csv', 'b');
  const third = await fx.watcher().tick();
  assert.deepEqual(third.map((e) => e.params.dataset), [fx.artifacts.uriFor('incoming/b.csv')]);
  assert.equal((await fx.service.wait(first[0].id)).state, 'succeeded');
}

/** Headers of a webhook request signed the way a sender of each accepted scheme signs it. */
export const signedBy = {
  /** Standard Webhooks: `webhook-id` (default: a new one), `webhook-timestamp` (default: now), `webhook-signature`. */
  standard(secret: string, body: string | Buffer, opts: { id?: string; timestamp?: number } = {}): Record<string, string> {
    return webhookHeaders(secret, { id: opts.id ?? `msg_${randomUUID()}`, timestamp: opts.timestamp ?? Math.floor(Date.now() / 1000), body });
  },
  /** GitHub: HMAC-SHA256 of the body keyed with the secret string, and a delivery GUID (default: a new one). */
  github(secret: string, body: string | Buffer, delivery: string = randomUUID()): Record<string, string> {
    return { 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`, 'x-github-delivery': delivery, 'x-github-event': 'push' };
  },
  /** GitLab: the secret itself as the token, and an idempotency key (default: a new one). */
  gitlab(secret: string, idempotencyKey: string = randomUUID()): Record<string, string> {
    return { 'x-gitlab-token': secret, 'idempotency-key': idempotencyKey, 'x-gitlab-event-uuid': randomUUID(), 'x-gitlab-event': 'Push Hook' };
  },
};
