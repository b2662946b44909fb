import { CapstanError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { assertOutboundUrl, type OutboundSettings } from '../core/outbound-guard.js';
import type { SecretBox } from '../core/secret-box.js';
import type { ServingContext } from '../serving/index.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { JobQueue } from '../storage/queue/job-queue.js';
import { compileAsyncConfig, compileAsyncRequest } from './async-request.js';
import { assertOutputPrefix } from './batch-input.js';
import type { AsyncAccepted, AsyncEndpointConfig, AsyncEndpointConfigInput, AsyncInvocation, AsyncInvocationRequest, AsyncInvocationService } from './async-service.js';
import { sealNotification } from './notification-secrets.js';
import type { AsyncInvocationRow, SqlAsyncStore } from './sql-async-store.js';

/** The queue and job type of asynchronous invocations. */
export const ASYNC_QUEUE = 'async';
/** Runs one queued invocation. */
export const ASYNC_JOB = 'async.invoke';

/** Inline payloads up to this size are kept in the request's row; larger ones in the artifact store. */
const INLINE_BYTES = 256 * 1024;

/** What the local asynchronous service works with. */
export interface LocalAsyncDeps {
  store: SqlAsyncStore;
  queue: JobQueue;
  artifacts: ArtifactStore;
  serving: () => ServingContext;
  outbound: OutboundSettings;
  box: SecretBox;
}

function inputError(detail: string, cause?: unknown): CapstanError {
  return new CapstanError('CAPSTAN_ASYNC_INPUT_INVALID', detail, { cause, retryable: false });
}

/** Queues invocations in the metadata DB; `async.invoke` jobs run them (see async-job-handler.ts). */
export class LocalAsyncService implements AsyncInvocationService {
  constructor(private readonly deps: LocalAsyncDeps) {}

  private accepted(row: AsyncInvocationRow): AsyncAccepted {
    const v = this.deps.store.view(row);
    return { id: v.id, inferenceId: v.inferenceId, outputLocation: v.outputLocation, failureLocation: v.failureLocation };
  }

  private keyIn(uri: string, what: string): string {
    try {
      return this.deps.artifacts.keyFor(uri.replace(/\/+$/, ''));
    } catch (err) {
      throw new CapstanError('CAPSTAN_ASYNC_OPTIONS_INVALID', `${what} ${uri} is outside the artifact store (${this.deps.artifacts.rootUri})`, { cause: err, fields: { field: what } });
    }
  }

  async invoke(endpoint: string, request: AsyncInvocationRequest): Promise<AsyncAccepted> {
    const req = compileAsyncRequest(request);
    await this.deps.serving().describe(endpoint);
    if (req.inferenceId !== null) {
      const existing = await this.deps.store.findByInferenceId(endpoint, req.inferenceId);
      if (existing) return this.accepted(existing);
    }
    let inputKey: string | undefined;
    if (request.inputLocation !== undefined && request.inputLocation !== '') {
      try {
        inputKey = this.deps.artifacts.keyFor(request.inputLocation);
      } catch (err) {
        throw inputError(`the input location ${request.inputLocation} is outside the artifact store (${this.deps.artifacts.rootUri})`, err);
      }
      let info;
      try {
        info = await this.deps.artifacts.stat(inputKey);
      } catch (err) {
        throw inputError(`the input location ${request.inputLocation} cannot be read: ${(err as Error).message}`, err);
      }
      if (!info) throw inputError(`nothing at the input location ${request.inputLocation}`);
    } else if (request.body === undefined || request.body === '') {
      throw inputError('send the payload as the body or name it with X-Amzn-SageMaker-InputLocation');
    }
    const config = await this.stored(endpoint);
    const now = Date.now();
    const id = newId('ai', now);
    let inline: string | null = null;
    if (inputKey === undefined) {
      if (Buffer.byteLength(request.body!) <= INLINE_BYTES) {
        inputKey = '';
        inline = request.body!;
      } else {
        inputKey = `async/${endpoint}/input/${id}`;
        await this.deps.artifacts.put(inputKey, request.body!);
      }
    }
    const row: AsyncInvocationRow = {
      id,
      endpoint,
      inference_id: req.inferenceId ?? id,
      input_key: inputKey,
      input_inline: inline,
      output_key: `${config.outputKey}/${id}.out`,
      failure_key: `${config.failureKey}/${id}-error.out`,
      content_type: req.contentType,
      accept: req.accept,
      custom_attributes: req.customAttributes,
      state: 'Queued',
      expires_at: now + req.ttlMs,
      timeout_ms: req.timeoutMs,
      notification: config.notification,
      failure_reason: null,
      created_at: now,
      updated_at: now,
      finished_at: null,
    };
    const inserted = await this.deps.store.transaction(async (trx) => {
      const res = await trx.insertInto('async_invocations').values(row).onConflict((oc) => oc.columns(['endpoint', 'inference_id']).doNothing()).executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0n) !== 1) return false;
      await this.deps.queue.enqueue(ASYNC_JOB, { id }, { queue: ASYNC_QUEUE, idempotencyKey: `async:${id}`, maxAttempts: 20 }, trx);
      return true;
    });
    if (!inserted) return this.accepted((await this.deps.store.findByInferenceId(endpoint, row.inference_id))!);
    return this.accepted(row);
  }

  async get(id: string): Promise<AsyncInvocation> {
    return this.deps.store.view(await this.deps.store.get(id));
  }

  /** The stored settings as keys, with defaults. */
  private async stored(endpoint: string): Promise<{ maxConcurrency: number; outputKey: string; failureKey: string; notification: string | null }> {
    const row = await this.deps.store.q().selectFrom('async_endpoint_configs').selectAll().where('endpoint', '=', endpoint).executeTakeFirst();
    return {
      maxConcurrency: row ? Number(row.max_concurrency) : 4,
      outputKey: row?.output_prefix ? this.keyIn(row.output_prefix, 'outputPrefix') : `async/${endpoint}/output`,
      failureKey: row?.failure_prefix ? this.keyIn(row.failure_prefix, 'failurePrefix') : `async/${endpoint}/failure`,
      notification: row?.notification ?? null,
    };
  }

  /** Requests of an endpoint that may run at once in one process. */
  async maxConcurrency(endpoint: string): Promise<number> {
    return (await this.stored(endpoint)).maxConcurrency;
  }

  async configure(endpoint: string, input: AsyncEndpointConfigInput): Promise<AsyncEndpointConfig> {
    const c = compileAsyncConfig(input);
    await this.deps.serving().describe(endpoint);
    if (c.outputPrefix) assertOutputPrefix(this.keyIn(c.outputPrefix, 'outputPrefix'), c.outputPrefix, 'CAPSTAN_ASYNC_OPTIONS_INVALID');
    if (c.failurePrefix) assertOutputPrefix(this.keyIn(c.failurePrefix, 'failurePrefix'), c.failurePrefix, 'CAPSTAN_ASYNC_OPTIONS_INVALID');
    if (c.notification?.webhookUrl) await assertOutboundUrl(c.notification.webhookUrl, this.deps.outbound, { purpose: 'notification webhook URL' });
    const values = {
      endpoint,
      max_concurrency: c.maxConcurrency,
      output_prefix: c.outputPrefix ?? null,
      failure_prefix: c.failurePrefix ?? null,
      notification: c.notification ? JSON.stringify(sealNotification(this.deps.box, c.notification)) : null,
      updated_at: Date.now(),
    };
    await this.deps.store
      .q()
      .insertInto('async_endpoint_configs')
      .values(values)
      .onConflict((oc) => oc.column('endpoint').doUpdateSet({ max_concurrency: values.max_concurrency, output_prefix: values.output_prefix, failure_prefix: values.failure_prefix, notification: values.notification, updated_at: values.updated_at }))
      .execute();
    return this.config(endpoint);
  }

  async config(endpoint: string): Promise<AsyncEndpointConfig> {
    await this.deps.serving().describe(endpoint);
    const s = await this.stored(endpoint);
    const n = s.notification ? (JSON.parse(s.notification) as { webhookUrl?: string; natsSubject?: string; includeResult: boolean }) : null;
    return {
      endpoint,
      maxConcurrency: s.maxConcurrency,
      outputPrefix: this.deps.artifacts.uriFor(s.outputKey),
      failurePrefix: this.deps.artifacts.uriFor(s.failureKey),
      notification: n ? { ...(n.webhookUrl ? { webhookUrl: n.webhookUrl } : {}), ...(n.natsSubject ? { natsSubject: n.natsSubject } : {}), includeResult: n.includeResult } : null,
    };
  }
}
