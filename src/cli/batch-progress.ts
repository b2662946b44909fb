import type { BatchJob } from '../batch/index.js';

const WIDTH = 30;

/** One progress line: a bar, percent, records done of total, failed, records per second and ETA. */
export function batchProgressLine(job: BatchJob): string {
  const { total, done, failed } = job.records;
  const fraction = total > 0 ? Math.min(1, done / total) : job.finishedAt ? 1 : 0;
  const filled = Math.round(fraction * WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`;
  const rate = job.progress.recordsPerSecond === null ? '' : `, ${job.progress.recordsPerSecond} rec/s`;
  const eta = job.progress.etaSeconds === null || job.finishedAt ? '' : `, ETA ${job.progress.etaSeconds}s`;
  const fails = failed > 0 ? `, ${failed} failed` : '';
  return `${bar} ${(fraction * 100).toFixed(1).padStart(5)}% ${done}/${total} records${fails}${rate}${eta} ${job.state}`;
}

/** The human rendering of `batch status`. */
export function batchDetails(job: BatchJob): string {
  const rows: [string, unknown][] = [
    ['id', job.id],
    ['state', job.state],
    ['model', `${job.model.ref} (${job.model.name}/${job.model.version})`],
    ['input', job.input],
    ['output', job.output],
    ['progress', batchProgressLine(job)],
    ['shards', `${job.shards.done}/${job.shards.total}`],
    ['failures', job.failureUri],
    ['reason', job.failureReason],
    ['created', `${job.createdAt} by ${job.createdBy}`],
    ['started', job.startedAt],
    ['finished', job.finishedAt],
  ];
  return rows.filter(([, v]) => v != null).map(([k, v]) => `${`${k}:`.padEnd(10)}${v}`).join('\n');
}

/**
 * Polls a job until it ends, writing the progress line to `write` whenever it changes (on a
 * terminal the caller rewrites one line; elsewhere each change is a line).
 */
export async function followBatchJob(read: () => Promise<BatchJob>, write: (line: string) => void, intervalMs = 500): Promise<BatchJob> {
  let last = '';
  for (;;) {
    const job = await read();
    const line = batchProgressLine(job);
    if (line !== last) write(line);
    last = line;
    if (job.finishedAt !== null) return job;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
