import { CapstanError, isCapstanError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { assertOutboundUrl, type OutboundSettings } from '../core/outbound-guard.js';
import type { RegistryService } from '../registry/index.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { JobQueue } from '../storage/queue/job-queue.js';
import type { SecretBox } from '../core/secret-box.js';
import { sealNotification } from './notification-secrets.js';
import { compileBatchJobOptions, type BatchJobInput } from './batch-options.js';
import { assertOutputPrefix, listBatchInput, locationKey } from './batch-input.js';
import type { BatchActionContext, BatchJob, BatchLogLine, BatchService } from './batch-service.js';
import { BATCH_QUEUE, PLAN_JOB } from './batch-queue.js';
import { toBatchJob, type SqlBatchStore } from './sql-batch-store.js';

/** What the local batch service works with. */
export interface LocalBatchDeps {
  store: SqlBatchStore;
  queue: JobQueue;
  artifacts: ArtifactStore;
  registry: () => RegistryService;
  outbound: OutboundSettings;
  box: SecretBox;
}

/** Normalises `ncf@champion`, `ncf/3` and `models:/ncf/3` to the registry's `models:/` form. */
export function modelUri(ref: string): string {
  return ref.startsWith('models:/') ? ref : `models:/${ref}`;
}

/** The batch service on the metadata DB and the queue: jobs are planned, sharded and run by queue workers. */
export class LocalBatchService implements BatchService {
  constructor(private readonly deps: LocalBatchDeps) {}

  async create(input: BatchJobInput, ctx: BatchActionContext = {}): Promise<BatchJob> {
    const options = compileBatchJobOptions(input);
    if (ctx.clientToken !== undefined) {
      const existing = await this.deps.store.findByToken(ctx.clientToken);
      if (existing) return toBatchJob(existing);
    }
    let model;
    try {
      model = await this.deps.registry().resolve(modelUri(input.model));
    } catch (err) {
      if (isCapstanError(err) && err.status < 500) {
        throw new CapstanError('CAPSTAN_BATCH_MODEL_NOT_FOUND', `model ${input.model} does not resolve: ${err.message}`, { fields: { model: input.model }, cause: err, retryable: false });
      }
      throw err;
    }
    const files = await listBatchInput(this.deps.artifacts, input.input);
    assertOutputPrefix(locationKey(this.deps.artifacts, input.output, 'CAPSTAN_BATCH_OUTPUT_INVALID'), input.output, 'CAPSTAN_BATCH_OUTPUT_INVALID');
    if (options.notification?.webhookUrl) await assertOutboundUrl(options.notification.webhookUrl, this.deps.outbound, { purpose: 'notification webhook URL' });
    const now = Date.now();
    const id = newId('bj', now);
    await this.deps.store.transaction(async (trx) => {
      await trx
        .insertInto('batch_jobs')
        .values({
          id,
          model_ref: input.model,
          model_name: model.name,
          model_version: model.version,
          input_uri: input.input,
          output_uri: input.output.replace(/\/+$/, ''),
          options: JSON.stringify(options.notification ? { ...options, notification: sealNotification(this.deps.box, options.notification) } : options),
          state: 'Planning',
          shards_total: 0,
          shards_done: 0,
          records_total: 0,
          records_done: 0,
          records_failed: 0,
          failure_reason: null,
          created_by: ctx.actor ?? 'local',
          client_token: ctx.clientToken ?? null,
          created_at: now,
          updated_at: now,
          started_at: null,
          finished_at: null,
        })
        .execute();
      await this.deps.store.log(id, `created: model ${model.name}/${model.version} (${input.model}), ${files.length} input file(s), ${options.strategy}, concurrency ${options.concurrency}`, trx);
      await this.deps.queue.enqueue(PLAN_JOB, { jobId: id, files }, { queue: BATCH_QUEUE, idempotencyKey: `batch-plan:${id}` }, trx);
    });
    return this.get(id);
  }

  async get(id: string): Promise<BatchJob> {
    return toBatchJob(await this.deps.store.get(id));
  }

  async list(options: { limit?: number } = {}): Promise<BatchJob[]> {
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new CapstanError('CAPSTAN_BATCH_OPTIONS_INVALID', 'limit must be an integer from 1 to 500', { fields: { field: 'limit' } });
    return (await this.deps.store.list(limit)).map((r) => toBatchJob(r));
  }

  async logs(id: string): Promise<BatchLogLine[]> {
    await this.deps.store.get(id);
    return this.deps.store.logs(id);
  }
}
