import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { CapstanError, isRetryable } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { parseJson } from '../storage/database.js';
import { appendEvent } from '../storage/outbox/index.js';
import type { JobQueue } from '../storage/queue/job-queue.js';
import type { Job, JobContext, JobHandler } from '../storage/queue/job.js';
import type { BatchJobOptions } from './batch-options.js';
import type { BatchInputFile } from './batch-input.js';
import { ASSEMBLE_JOB, BATCH_QUEUE, PLAN_JOB, SHARD_JOB, stagingKeys } from './batch-queue.js';
import { BATCH_TERMINAL_STATES, type BatchJobState } from './batch-service.js';
import { recordCodec } from './record-codec.js';
import { runRecords } from './record-runner.js';
import type { RunnerCache } from './runner-cache.js';
import { failureUriOf, toBatchJob, type BatchJobRow, type BatchTables, type SqlBatchStore } from './sql-batch-store.js';

/** What the batch job handlers work with. */
export interface BatchJobDeps {
  store: SqlBatchStore;
  queue: JobQueue;
  artifacts: ArtifactStore;
  runners: RunnerCache;
  logger: Logger;
}

interface ShardPayload {
  jobId: string;
  shard: number;
  file: string;
}

const filesKey = (jobId: string) => `${stagingKeys.root(jobId)}/files.json`;

function optionsOf(row: BatchJobRow): BatchJobOptions {
  return parseJson<BatchJobOptions>(row.options, {} as BatchJobOptions);
}

function terminal(row: BatchJobRow | undefined): boolean {
  return !row || BATCH_TERMINAL_STATES.includes(row.state);
}

/** Ends a job in `state` with its outbox event, once: a second call (a retried job) changes nothing. */
export async function endJob(deps: BatchJobDeps, jobId: string, state: BatchJobState, reason: string | null, context?: JobContext): Promise<boolean> {
  const ended = await deps.store.transaction(async (trx) => {
    await context?.assertLease(trx);
    const now = Date.now();
    const res = await trx
      .updateTable('batch_jobs')
      .set({ state, failure_reason: reason, finished_at: now, updated_at: now })
      .where('id', '=', jobId)
      .where('state', 'not in', [...BATCH_TERMINAL_STATES])
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    const row = (await deps.store.find(jobId, trx))!;
    const job = toBatchJob(row, now);
    await appendEvent(trx as Kysely<any>, {
      type: state === 'Failed' ? 'batch_job.failed' : 'batch_job.completed',
      subject: `batch-jobs/${jobId}`,
      data: { id: jobId, state, model: job.model, input: job.input, output: job.output, records: job.records, failureUri: job.failureUri, failureReason: reason },
    });
    await deps.store.log(jobId, `finished ${state}${reason ? `: ${reason}` : ''} (${job.records.done} records, ${job.records.failed} failed)`, trx);
    return true;
  });
  if (ended) await deps.runners.release(jobId);
  return ended;
}

async function* lines(stream: Readable): AsyncGenerator<string> {
  const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) yield line;
}

/** `batch.plan`: writes each shard's input lines to a staging key, then records the shards and queues them in one transaction. */
function planHandler(deps: BatchJobDeps): JobHandler<{ jobId: string; files: BatchInputFile[] }> {
  return async (job, context) => {
    const { jobId, files } = job.payload;
    const row = await deps.store.find(jobId);
    if (!row || row.state !== 'Planning') return { skipped: row?.state ?? 'missing' };
    const options = optionsOf(row);
    const shards: BatchTables['batch_shards'][] = [];
    let records = 0;
    try {
      await deps.artifacts.put(filesKey(jobId), JSON.stringify(files));
      for (const [fileIndex, file] of files.entries()) {
        if (options.splitType === 'None') {
          // The whole object is one record, sent with its line breaks folded into one line.
          const text = (await deps.artifacts.get(file.key)).toString('utf8').replace(/\r?\n/g, ' ').trim();
          await deps.artifacts.put(stagingKeys.shardInput(jobId, shards.length), text);
          const n = text === '' ? 0 : 1;
          shards.push({ job_id: jobId, shard: shards.length, file_index: fileIndex, first_line: 1, records: n, state: 'pending', failed: 0, committed_at: null });
          records += n;
          continue;
        }
        let buffer: string[] = [];
        let nonEmpty = 0;
        let firstLine = 1;
        const flush = async () => {
          await deps.artifacts.put(stagingKeys.shardInput(jobId, shards.length), buffer.join('\n'));
          shards.push({ job_id: jobId, shard: shards.length, file_index: fileIndex, first_line: firstLine, records: nonEmpty, state: 'pending', failed: 0, committed_at: null });
          records += nonEmpty;
          firstLine += buffer.length;
          buffer = [];
          nonEmpty = 0;
        };
        for await (const line of lines(await deps.artifacts.stream(file.key))) {
          if (context.signal.aborted) throw context.signal.reason;
          buffer.push(line);
          if (line.trim() !== '') nonEmpty++;
          if (buffer.length >= options.recordsPerShard) await flush();
        }
        if (buffer.length > 0 || firstLine === 1) await flush();
      }
    } catch (err) {
      if (context.signal.aborted || isRetryable(err)) {
        if (job.attempts < job.maxAttempts) throw err;
      }
      await endJob(deps, jobId, 'Failed', `the input cannot be read: ${(err as Error).message}`, context);
      return { failed: true };
    }
    await deps.store.transaction(async (trx) => {
      await context.assertLease(trx);
      const now = Date.now();
      const res = await trx
        .updateTable('batch_jobs')
        .set({ state: 'InProgress', shards_total: shards.length, records_total: records, started_at: now, updated_at: now })
        .where('id', '=', jobId)
        .where('state', '=', 'Planning')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return;
      for (let i = 0; i < shards.length; i += 200) await trx.insertInto('batch_shards').values(shards.slice(i, i + 200)).execute();
      for (const s of shards) {
        await deps.queue.enqueue(SHARD_JOB, { jobId, shard: s.shard, file: files[s.file_index].name } satisfies ShardPayload, { queue: BATCH_QUEUE, idempotencyKey: `batch-shard:${jobId}:${s.shard}` }, trx);
      }
      if (shards.length === 0) await deps.queue.enqueue(ASSEMBLE_JOB, { jobId }, { queue: BATCH_QUEUE, idempotencyKey: `batch-assemble:${jobId}` }, trx);
      await deps.store.log(jobId, `planned ${shards.length} shard(s), ${records} record(s)`, trx);
    });
    return { shards: shards.length, records };
  };
}

/**
 * `batch.shard`: runs one shard's records, writes its output and failures to the shard's own keys (an
 * atomic put: staged, then renamed into place), then marks the shard done and adds its counts in one
 * fenced transaction. A shard already done is skipped, so a retry after a crash adds nothing twice.
 */
function shardHandler(deps: BatchJobDeps): JobHandler<ShardPayload> {
  return async (job: Job<ShardPayload>, context) => {
    const { jobId, shard, file } = job.payload;
    const row = await deps.store.find(jobId);
    if (terminal(row)) return { skipped: row?.state ?? 'missing' };
    const s = await deps.store.q().selectFrom('batch_shards').selectAll().where('job_id', '=', jobId).where('shard', '=', shard).executeTakeFirst();
    if (!s || s.state === 'done') return { skipped: 'done' };
    const options = optionsOf(row!);
    const input = (await deps.artifacts.get(stagingKeys.shardInput(jobId, shard))).toString('utf8');
    const modelRef = `models:/${row!.model_name}/${row!.model_version}`;
    let result;
    try {
      result = await deps.runners.with(jobId, modelRef, options, (runner) => runRecords(input.split('\n'), Number(s.first_line), options, recordCodec(options), runner, context.signal));
    } catch (err) {
      if (context.signal.aborted) throw err;
      // The model does not load (or its package is gone): no record can succeed, so the job fails now.
      await endJob(deps, jobId, 'Failed', `the model ${modelRef} cannot run: ${(err as Error).message}`, context);
      return { failed: true };
    }
    await deps.artifacts.put(stagingKeys.shardOutput(jobId, shard), result.lines.length ? `${result.lines.join('\n')}\n` : '');
    await deps.artifacts.put(stagingKeys.shardFailures(jobId, shard), result.failures.map((f) => `${JSON.stringify({ file, line: f.line, reason: f.reason })}\n`).join(''));
    const committed = await deps.store.transaction(async (trx) => {
      await context.assertLease(trx);
      const now = Date.now();
      const res = await trx
        .updateTable('batch_shards')
        .set({ state: 'done', failed: result.failures.length, committed_at: now })
        .where('job_id', '=', jobId)
        .where('shard', '=', shard)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      await trx
        .updateTable('batch_jobs')
        .set((eb) => ({
          records_done: eb('records_done', '+', result.lines.length + result.failures.length),
          records_failed: eb('records_failed', '+', result.failures.length),
          shards_done: eb('shards_done', '+', 1),
          updated_at: now,
        }))
        .where('id', '=', jobId)
        .execute();
      const after = (await deps.store.find(jobId, trx))!;
      await deps.store.log(jobId, `shard ${shard} committed: ${result.lines.length} output, ${result.failures.length} failed (attempt ${job.attempts})`, trx);
      if (Number(after.shards_done) >= Number(after.shards_total)) {
        await deps.queue.enqueue(ASSEMBLE_JOB, { jobId }, { queue: BATCH_QUEUE, idempotencyKey: `batch-assemble:${jobId}` }, trx);
      }
      return true;
    });
    return { committed, records: result.lines.length, failed: result.failures.length };
  };
}

async function* concat(artifacts: ArtifactStore, keys: string[]): AsyncGenerator<Buffer> {
  for (const key of keys) for await (const chunk of await artifacts.stream(key)) yield chunk as Buffer;
}

/**
 * `batch.assemble`: concatenates the shards' outputs per input file in input order (each output an
 * atomic put), writes the failure file, and ends the job by its failure threshold. Running it again
 * rewrites the same bytes, and the job ends once.
 */
function assembleHandler(deps: BatchJobDeps): JobHandler<{ jobId: string }> {
  return async (job, context) => {
    const { jobId } = job.payload;
    const row = await deps.store.find(jobId);
    if (terminal(row)) return { skipped: row?.state ?? 'missing' };
    const files = JSON.parse((await deps.artifacts.get(filesKey(jobId))).toString('utf8')) as BatchInputFile[];
    const shards = await deps.store.q().selectFrom('batch_shards').selectAll().where('job_id', '=', jobId).orderBy('shard').execute();
    if (shards.some((s) => s.state !== 'done')) throw new CapstanError('CAPSTAN_INTERNAL', `batch job ${jobId} has shards not yet committed`);
    const outKey = deps.artifacts.keyFor(row!.output_uri);
    for (const [i, f] of files.entries()) {
      const keys = shards.filter((s) => s.file_index === i).map((s) => stagingKeys.shardOutput(jobId, s.shard));
      await deps.artifacts.put(`${outKey}/${f.name}.out`, Readable.from(concat(deps.artifacts, keys)));
    }
    const failed = Number(row!.records_failed);
    const total = Number(row!.records_total);
    if (failed > 0) {
      await deps.artifacts.put(deps.artifacts.keyFor(failureUriOf(row!.output_uri)), Readable.from(concat(deps.artifacts, shards.map((s) => stagingKeys.shardFailures(jobId, s.shard)))));
    }
    const options = optionsOf(row!);
    const share = total === 0 ? 0 : failed / total;
    const state: BatchJobState = failed === 0 ? 'Completed' : share > options.failureThreshold ? 'Failed' : 'CompletedWithFailures';
    const reason = state === 'Failed' ? `${failed} of ${total} records failed (${(share * 100).toFixed(1)}%), above the failure threshold of ${options.failureThreshold * 100}%` : null;
    await endJob(deps, jobId, state, reason, context);
    await deps.artifacts.deletePrefix(`${stagingKeys.root(jobId)}/`).catch((err) => deps.logger.warn({ err, jobId }, 'batch staging cleanup failed'));
    return { state };
  };
}

/** The batch queue's job handlers by type. */
export function batchJobHandlers(deps: BatchJobDeps): Map<string, JobHandler> {
  return new Map<string, JobHandler>([
    [PLAN_JOB, planHandler(deps) as JobHandler],
    [SHARD_JOB, shardHandler(deps) as JobHandler],
    [ASSEMBLE_JOB, assembleHandler(deps) as JobHandler],
  ]);
}
