import type { Command } from 'commander';
import type { BatchContext, BatchJob, BatchJobInput, BatchService } from '../../batch/index.js';
import { BATCH_QUEUE } from '../../batch/index.js';
import { CapstanError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { BatchClient } from '../../sdk/batch-client.js';
import { HttpClient } from '../../sdk/http-client.js';
import { Worker } from '../../storage/queue/worker.js';
import { batchDetails, followBatchJob } from '../batch-progress.js';
import { allOptions, configFrom, integerOption, printResult, table, withPlatform, withService, type ServiceAccess } from '../cli-context.js';
import type { CommandModule } from './index.js';

const access: ServiceAccess<BatchService> = {
  local: (platform) => platform.context<BatchContext>('batch').batch,
  remote: (http) => new BatchClient(http),
};

function choice<T extends string>(flag: string, map: Record<string, T>): (value: string) => T {
  return (value) => {
    const v = map[value.toLowerCase()];
    if (!v) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `${flag} must be one of ${Object.keys(map).join(', ')}, got ${JSON.stringify(value)}`);
    return v;
  };
}

function numberOption(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `${flag} must be a number, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** Progress goes to stderr: one rewritten line on a terminal, a line per change otherwise. */
function progressWriter(): (line: string) => void {
  const tty = process.stderr.isTTY;
  return (line) => process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
}

/**
 * Follows a job to its end. Embedded, this process also runs the `batch` queue while it waits, so
 * `capstan batch run --wait` needs no worker; a job another process left half done resumes here.
 */
async function waitFor(cmd: Command, id: string): Promise<BatchJob> {
  const config = configFrom(cmd);
  const write = progressWriter();
  if (config.url) {
    const client = new BatchClient(new HttpClient({ baseUrl: config.url, apiKey: config.apiKey }));
    return followBatchJob(() => client.get(id), write);
  }
  return withPlatform(cmd, async (platform) => {
    const worker = new Worker({ queue: platform.queue, handlers: platform.jobHandlers, queues: [BATCH_QUEUE], logger: silentLogger() });
    await worker.start();
    try {
      return await followBatchJob(() => platform.context<BatchContext>('batch').batch.get(id), write);
    } finally {
      if (process.stderr.isTTY) process.stderr.write('\n');
      await worker.stop();
    }
  });
}

function finish(cmd: Command, job: BatchJob): void {
  printResult(cmd, job, () => batchDetails(job));
  if (job.state === 'Failed') process.exitCode = 1;
}

/** `capstan batch run|status|logs|list`: batch transform jobs, embedded or through `--url`. */
export const batchCommand: CommandModule = (program: Command) => {
  const batch = program.command('batch').description('batch transform: score files in the artifact store with a registered model');

  batch
    .command('run')
    .description('create a batch transform job (embedded, a `capstan worker` or `--wait` runs it)')
    .requiredOption('--model <ref>', 'registered model: ncf@champion, ncf/3 or models:/ncf/3')
    .requiredOption('--input <uri>', 'an object or prefix in the artifact store (JSON Lines or CSV)')
    .requiredOption('--output <uri>', 'a prefix in the artifact store for <input file>.out and failures.jsonl')
    .option('--content-type <type>', 'jsonl or csv; default by the input extension', choice('--content-type', { jsonl: 'application/jsonlines' as const, csv: 'text/csv' as const }))
    .option('--split <type>', 'line (default: each line a record) or none (each file a record)', choice('--split', { line: 'Line' as const, none: 'None' as const }))
    .option('--strategy <s>', 'multi (default: records up to --max-payload-mb share model calls) or single', choice('--strategy', { single: 'SingleRecord' as const, multi: 'MultiRecord' as const }))
    .option('--max-payload-mb <n>', 'largest record and mini-batch in MiB; default 6', numberOption('--max-payload-mb'))
    .option('--concurrency <n>', "worker threads of the job's model pool per process; default 2", integerOption('--concurrency', 1, 32))
    .option('--join-source <j>', 'input (output = input record + prediction) or none (default)', choice('--join-source', { input: 'Input' as const, none: 'None' as const }))
    .option('--input-filter <jsonpath>', 'JSONPath applied to each record before the model; default $')
    .option('--output-filter <jsonpath>', 'JSONPath applied to each output after the join; default $')
    .option('--failure-threshold <f>', 'failed share 0-1 above which the job is Failed; default 0.1', numberOption('--failure-threshold'))
    .option('--records-per-shard <n>', 'input lines per shard (one queue job each); default 10000', integerOption('--records-per-shard', 1, 1_000_000))
    .option('--wait', 'follow the job to its end with a progress bar (embedded: run it in this process)')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const o = allOptions<Record<string, unknown> & { wait?: boolean }>(cmd);
      const input: BatchJobInput = { model: o.model as string, input: o.input as string, output: o.output as string };
      const map: [string, keyof BatchJobInput][] = [
        ['contentType', 'contentType'], ['split', 'splitType'], ['strategy', 'strategy'], ['maxPayloadMb', 'maxPayloadMb'], ['concurrency', 'concurrency'],
        ['joinSource', 'joinSource'], ['inputFilter', 'inputFilter'], ['outputFilter', 'outputFilter'], ['failureThreshold', 'failureThreshold'], ['recordsPerShard', 'recordsPerShard'],
      ];
      for (const [flag, field] of map) if (o[flag] !== undefined) (input as unknown as Record<string, unknown>)[field] = o[flag];
      const job = await withService(cmd, access, (s) => s.create(input));
      if (!o.wait) {
        printResult(cmd, job, () => `batch job ${job.id} created (${job.state}); follow it with: capstan batch status ${job.id} --wait`);
        return;
      }
      process.stderr.write(`batch job ${job.id}\n`);
      finish(cmd, await waitFor(cmd, job.id));
    });

  batch
    .command('status <id>')
    .description('show a batch job: state, records, records/s, ETA')
    .option('--wait', 'follow the job to its end (embedded: run its remaining shards in this process)')
    .option('--json', 'print JSON')
    .action(async (id: string, _opts, cmd: Command) => {
      const o = allOptions<{ wait?: boolean }>(cmd);
      if (o.wait) return finish(cmd, await waitFor(cmd, id));
      const job = await withService(cmd, access, (s) => s.get(id));
      printResult(cmd, job, () => batchDetails(job));
    });

  batch
    .command('logs <id>')
    .description("print a batch job's log")
    .option('--json', 'print JSON')
    .action(async (id: string, _opts, cmd: Command) => {
      const lines = await withService(cmd, access, (s) => s.logs(id));
      printResult(cmd, lines, () => lines.map((l) => `${l.at}  ${l.message}`).join('\n'));
    });

  batch
    .command('list')
    .description('list batch jobs, newest first')
    .option('--limit <n>', 'how many, 1-500; default 50', integerOption('--limit', 1, 500))
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const o = allOptions<{ limit?: number }>(cmd);
      const jobs = await withService(cmd, access, (s) => s.list({ limit: o.limit }));
      printResult(cmd, jobs, () => table(jobs.map((j) => ({ id: j.id, state: j.state, model: j.model.ref, records: `${j.records.done}/${j.records.total}`, failed: j.records.failed, created: j.createdAt }))));
    });
};
