import type { Kysely } from 'kysely';
import { CapstanError, isCapstanError } from '../core/errors.js';
import type { ServingContext } from '../serving/index.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { appendEvent } from '../storage/outbox/index.js';
import type { JobContext, JobHandler } from '../storage/queue/job.js';
import type { AsyncInvocationState } from './async-service.js';
import type { EndpointSlots } from './endpoint-slots.js';
import type { LocalAsyncService } from './local-async-service.js';
import { WORKER_LOST, type AsyncInvocationRow, type SqlAsyncStore } from './sql-async-store.js';

/** What the `async.invoke` handler works with. */
export interface AsyncJobDeps {
  store: SqlAsyncStore;
  service: LocalAsyncService;
  artifacts: ArtifactStore;
  serving: () => ServingContext;
  slots: EndpointSlots;
}

const TERMINAL: AsyncInvocationState[] = ['Completed', 'Failed', 'Expired'];
// Outages of the platform's own stores are retried, and so is an endpoint that is still starting (a
// variant scaled to zero whose cold-start queue is full): the queue brings the request back after a
// backoff, within its TTL. Anything the model or the request caused is the request's failure.
const RETRIED = new Set(['CAPSTAN_DB_UNAVAILABLE', 'CAPSTAN_ARTIFACT_STORE_UNAVAILABLE', 'CAPSTAN_QUEUE_LEASE_LOST', 'CAPSTAN_SERVING_COLD_START_QUEUE_FULL']);

function withTimeout<T>(work: Promise<T>, ms: number, id: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CapstanError('CAPSTAN_ASYNC_TIMEOUT', `invocation ${id} did not finish within ${ms / 1000} s`, { fields: { id } })), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Ends an invocation once, with its outbox event, in a transaction fenced by the job's lease when a job runs it. */
async function finish(deps: Pick<AsyncJobDeps, 'store'>, row: AsyncInvocationRow, state: AsyncInvocationState, reason: string | null, context: JobContext | undefined, extra: Record<string, unknown>): Promise<void> {
  await deps.store.transaction(async (trx) => {
    await context?.assertLease(trx);
    const now = Date.now();
    const res = await trx
      .updateTable('async_invocations')
      .set({ state, failure_reason: reason, finished_at: now, updated_at: now })
      .where('id', '=', row.id)
      .where('state', 'not in', TERMINAL)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return;
    const view = deps.store.view(row);
    await appendEvent(trx as Kysely<any>, {
      type: state === 'Completed' ? 'async_invocation.succeeded' : 'async_invocation.failed',
      subject: `endpoints/${row.endpoint}/async-invocations/${row.id}`,
      data: { id: row.id, endpoint: row.endpoint, inferenceId: row.inference_id, state, outputLocation: view.outputLocation, failureLocation: view.failureLocation, failureReason: reason, ...extra },
    });
  });
}

/** True when the invocation's input was sent inline and stored only for this request (the caller owns an input location). */
function ownsInput(row: AsyncInvocationRow): boolean {
  return row.input_key === `async/${row.endpoint}/input/${row.id}`;
}

/** Writes the failure file a caller reads at the invocation's failure location. */
function putFailure(deps: Pick<AsyncJobDeps, 'artifacts'>, row: AsyncInvocationRow, code: string, message: string): Promise<unknown> {
  return deps.artifacts.put(row.failure_key, JSON.stringify({ InferenceId: row.inference_id, code, message }));
}

/**
 * Fails invocation `id` whose job died without its handler ending it (its worker was lost on every
 * attempt): the failure file, the row and the `async_invocation.failed` event, once; false when the
 * invocation had already ended. The file is retried with the delivery; from `lastTry` on the row ends without it.
 */
export async function failLostInvocation(deps: Pick<AsyncJobDeps, 'store' | 'artifacts'>, id: string, jobError: string | null, lastTry: boolean): Promise<boolean> {
  const row = await deps.store.find(id);
  if (!row || TERMINAL.includes(row.state)) return false;
  const err = new CapstanError(WORKER_LOST, `invocation ${id} lost its worker on every attempt${jobError ? ` (${jobError})` : ''}`, { fields: { id } });
  try {
    await putFailure(deps, row, err.code, err.message);
  } catch (putError) {
    if (!lastTry) throw putError;
  }
  await finish(deps, row, 'Failed', `${err.code}: ${err.message}`, undefined, { code: err.code });
  if (ownsInput(row)) await deps.artifacts.delete(row.input_key).catch(() => {});
  return true;
}

/**
 * Queues again an invocation its dead job had failed: a dead job runs again only when an operator
 * retries it, and that retry is for the invocation. Its stale failure file goes, so a caller polling
 * the locations sees the new outcome. An inline body survives; a body stored for the request alone was
 * deleted when it failed, and the retried run fails again naming it.
 */
async function revive(deps: Pick<AsyncJobDeps, 'store' | 'artifacts'>, row: AsyncInvocationRow): Promise<AsyncInvocationRow> {
  const revived = await deps.store.revive(row.id);
  if (!revived) return (await deps.store.find(row.id)) ?? row;
  await deps.artifacts.delete(row.failure_key).catch(() => {});
  return revived;
}

/**
 * `async.invoke`: waits for a slot of its endpoint, fails an expired request into its failure
 * location, otherwise invokes the endpoint within the invocation timeout and writes the answer to the
 * output location (one key per request, so a retried job rewrites the same object, never a second one).
 */
export function asyncJobHandler(deps: AsyncJobDeps): JobHandler<{ id: string }> {
  return async (job, context) => {
    let row = await deps.store.find(job.payload.id);
    if (row?.state === 'Failed' && row.failure_reason?.startsWith(`${WORKER_LOST}:`)) row = await revive(deps, row);
    if (!row || TERMINAL.includes(row.state)) return { skipped: row?.state ?? 'missing' };
    const release = await deps.slots.acquire(row.endpoint, await deps.service.maxConcurrency(row.endpoint), context.signal);
    // A throw on the final attempt leaves the job dead and the invocation `InProgress` for ever, so
    // there the invocation fails instead of retrying.
    const finalAttempt = job.attempts >= job.maxAttempts;
    try {
      const failInto = async (state: AsyncInvocationState, err: CapstanError | Error) => {
        const code = isCapstanError(err) ? err.code : 'CAPSTAN_SERVING_MODEL_ERROR';
        try {
          await putFailure(deps, row, code, err.message);
        } catch (putError) {
          // The row is the record callers poll; on the final attempt it ends even if the store refuses the file.
          if (!finalAttempt) throw putError;
        }
        await finish(deps, row, state, `${code}: ${err.message}`, context, { code });
        return { state };
      };
      if (Date.now() > Number(row.expires_at)) {
        return await failInto('Expired', new CapstanError('CAPSTAN_ASYNC_EXPIRED', `invocation ${row.id} waited past its TTL (${new Date(Number(row.expires_at)).toISOString()}) before a worker took it`));
      }
      await deps.store.q().updateTable('async_invocations').set({ state: 'InProgress', updated_at: Date.now() }).where('id', '=', row.id).where('state', '=', 'Queued').execute();
      try {
        const body = row.input_inline ?? (await deps.artifacts.get(row.input_key)).toString('utf8');
        const answer = await withTimeout(
          deps.serving().invoke(row.endpoint, body, { contentType: row.content_type, customAttributes: row.custom_attributes ?? undefined, inferenceId: row.inference_id }),
          Number(row.timeout_ms),
          row.id,
        );
        await deps.artifacts.put(row.output_key, answer.body);
        await finish(deps, row, 'Completed', null, context, { contentType: answer.contentType, variant: answer.variant });
        return { state: 'Completed' };
      } catch (err) {
        // A lost lease is not this worker's to end: another worker holds the job now.
        const retried = isCapstanError(err) && RETRIED.has(err.code) && (!finalAttempt || err.code === 'CAPSTAN_QUEUE_LEASE_LOST');
        if (context.signal.aborted || retried) throw err;
        return await failInto('Failed', err as Error);
      }
    } finally {
      release();
      // A body sent inline was stored only for this request; an input location is the caller's.
      if (ownsInput(row) && TERMINAL.includes((await deps.store.find(row.id))?.state ?? 'Queued')) {
        await deps.artifacts.delete(row.input_key).catch(() => {});
      }
    }
  };
}
