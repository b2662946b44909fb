/** The queue batch jobs run on, so `capstan worker --queues batch` can take them alone. */
export const BATCH_QUEUE = 'batch';
/** Splits a job's input into shards (idempotent: shard inputs are rewritten identically). */
export const PLAN_JOB = 'batch.plan';
/** Runs one shard and commits its output once. */
export const SHARD_JOB = 'batch.shard';
/** Concatenates the committed shard outputs in input order and ends the job. */
export const ASSEMBLE_JOB = 'batch.assemble';

/** Staging keys of a job, under the artifact store's `batch/` prefix. */
export const stagingKeys = {
  root: (jobId: string) => `batch/${jobId}`,
  shardInput: (jobId: string, shard: number) => `batch/${jobId}/shards/${String(shard).padStart(6, '0')}.in`,
  shardOutput: (jobId: string, shard: number) => `batch/${jobId}/parts/${String(shard).padStart(6, '0')}.out`,
  shardFailures: (jobId: string, shard: number) => `batch/${jobId}/parts/${String(shard).padStart(6, '0')}.fail`,
};
