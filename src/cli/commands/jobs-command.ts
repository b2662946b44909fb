import type { Command } from 'commander';
import { CapstanError } from '../../core/errors.js';
import type { Job, JobState } from '../../storage/queue/job.js';
import { JOB_STATES, type JobsService } from '../../storage/queue/jobs-service.js';
import { JobsClient } from '../../sdk/jobs-client.js';
import { allOptions, integerOption, printResult, table, withService, type ServiceAccess } from '../cli-context.js';
import type { CommandModule } from './index.js';

const access: ServiceAccess<JobsService> = {
  local: (platform) => platform.queue,
  remote: (http) => new JobsClient(http),
};

function parseState(value: string): JobState {
  if (!(JOB_STATES as string[]).includes(value)) {
    throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--state must be one of ${JOB_STATES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as JobState;
}

function summary(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    queue: job.queue,
    type: job.type,
    state: job.state,
    attempts: `${job.attempts}/${job.maxAttempts}`,
    priority: job.priority,
    runAt: job.runAt,
    lastError: job.lastError ? job.lastError.slice(0, 60) : '',
  };
}

function details(job: Job): string {
  const rows: [string, unknown][] = [
    ['id', job.id], ['queue', job.queue], ['type', job.type], ['state', job.state],
    ['attempts', `${job.attempts} of ${job.maxAttempts}`], ['priority', job.priority], ['run at', job.runAt],
    ['idempotency key', job.idempotencyKey], ['lease owner', job.leaseOwner], ['lease expires', job.leaseExpiresAt],
    ['created', job.createdAt], ['started', job.startedAt], ['finished', job.finishedAt],
    ['payload', JSON.stringify(job.payload)], ['result', JSON.stringify(job.result)], ['last error', job.lastError],
  ];
  return rows.filter(([, v]) => v != null).map(([k, v]) => `${`${k}:`.padEnd(17)}${v}`).join('\n');
}

/** `capstan jobs list|show|retry|cancel|stats`: the durable queue, embedded or through `--url`. */
export const jobsCommand: CommandModule = (program: Command) => {
  const jobs = program.command('jobs').description('inspect, retry and cancel jobs of the durable queue');

  jobs
    .command('list')
    .description('list jobs, newest first')
    .option('--state <state>', `only jobs in this state (${JOB_STATES.join(', ')})`, parseState)
    .option('--queue <name>', 'only jobs of this queue')
    .option('--type <type>', 'only jobs of this type')
    .option('--limit <n>', 'page size, 1-500; default 50', integerOption('--limit', 1, 500))
    .option('--cursor <cursor>', 'the next-page cursor a previous list printed')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const o = allOptions<{ state?: JobState; queue?: string; type?: string; limit?: number; cursor?: string }>(cmd);
      const page = await withService(cmd, access, (s) => s.list({ state: o.state, queue: o.queue, type: o.type, limit: o.limit, cursor: o.cursor }));
      printResult(cmd, page, () => table(page.jobs.map(summary)) + (page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : ''));
    });

  jobs
    .command('show <id>')
    .description('show one job with its payload, result and last error')
    .option('--json', 'print JSON')
    .action(async (id: string, _opts, cmd: Command) => {
      const job = await withService(cmd, access, (s) => s.get(id));
      printResult(cmd, job, () => details(job));
    });

  jobs
    .command('retry <id>')
    .description('queue a dead or cancelled job again, with a fresh set of attempts')
    .option('--json', 'print JSON')
    .action(async (id: string, _opts, cmd: Command) => {
      const job = await withService(cmd, access, (s) => s.retry(id));
      printResult(cmd, job, () => `job ${job.id} queued again (${job.type} on ${job.queue})`);
    });

  jobs
    .command('cancel <id>')
    .description('cancel a queued job')
    .option('--json', 'print JSON')
    .action(async (id: string, _opts, cmd: Command) => {
      const job = await withService(cmd, access, (s) => s.cancel(id));
      printResult(cmd, job, () => `job ${job.id} cancelled`);
    });

  jobs
    .command('stats')
    .description('number of jobs in each state')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const stats = await withService(cmd, access, (s) => s.stats());
      printResult(cmd, stats, () => table(Object.entries(stats).map(([state, count]) => ({ state, count }))));
    });
};
