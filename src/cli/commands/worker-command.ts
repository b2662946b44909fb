import type { Command } from 'commander';
import { CapstanError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { stopServices, type BackgroundService } from '../../core/background-service.js';
import { assertName } from '../../core/names.js';
import { openPlatform } from '../../platform/platform.js';
import { shutdownSignal } from '../shutdown-signal.js';
import { Worker } from '../../storage/queue/worker.js';
import { allOptions, configFrom, printResult } from '../cli-context.js';
import type { CommandModule } from './index.js';

function parseQueues(value: string): string[] {
  const names = value.split(',').map((q) => q.trim()).filter(Boolean);
  if (names.length === 0) throw new CapstanError('CAPSTAN_REQUEST_INVALID', '--queues needs at least one queue name');
  return names.map((q) => assertName(q, 'queue name'));
}

/**
 * `capstan worker`: runs the platform's job handlers and its shared work services (pipeline
 * executions and triggers) until SIGINT/SIGTERM, then stops gracefully.
 */
export const workerCommand: CommandModule = (program: Command) => {
  program
    .command('worker')
    .description('run queue jobs, pipeline executions and pipeline triggers until SIGINT/SIGTERM; on a signal, finish or release running work and exit')
    .option('--concurrency <n>', 'jobs run at once; default queue.concurrency (4)')
    .option('--queues <list>', 'comma-separated queues to take jobs from; default all', parseQueues)
    .option('--grace-ms <ms>', 'how long shutdown waits for running jobs before releasing them; default 30000')
    .option('--log-format <format>', 'json, pretty or auto (pretty on a terminal, json otherwise); env CAPSTAN_LOG_FORMAT (default auto)')
    .option('--no-pipelines', 'do not run pipeline executions or fire pipeline triggers in this process')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const o = allOptions<{ concurrency?: string; queues?: string[]; graceMs?: string; pipelines?: boolean; logFormat?: string }>(cmd);
      const config = configFrom(cmd, {
        ...(o.concurrency !== undefined ? { 'queue.concurrency': o.concurrency } : {}),
        ...(o.logFormat !== undefined ? { logFormat: o.logFormat } : {}),
      });
      const graceMs = o.graceMs === undefined ? undefined : Number(o.graceMs);
      if (graceMs !== undefined && !(Number.isSafeInteger(graceMs) && graceMs >= 0)) {
        throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--grace-ms must be an integer >= 0, got ${JSON.stringify(o.graceMs)}`);
      }
      const logger = createLogger({ level: config.logLevel, format: config.logFormat });
      const platform = await openPlatform({ config, logger });
      try {
        const worker = new Worker({ queue: platform.queue, handlers: platform.jobHandlers, queues: o.queues, graceMs, logger });
        // The event outbox dispatcher runs here too, so events of CLI changes reach webhooks without a `capstan up`.
        const services = [...(o.pipelines === false ? [] : platform.workServices), platform.outbox];
        const stopped = shutdownSignal();
        const started: BackgroundService[] = [];
        try {
          for (const service of services) {
            await service.start();
            started.push(service);
          }
          await worker.start();
        } catch (err) {
          await stopServices(started, logger);
          throw err;
        }
        const info = {
          worker: worker.id,
          database: platform.db.displayUrl,
          queues: o.queues ?? 'all',
          concurrency: config.queue.concurrency,
          types: [...platform.jobHandlers.keys()].sort(),
          services: started.map((s) => s.name),
        };
        const also = info.services.length ? ` and ${info.services.join(', ')}` : '';
        printResult(cmd, { event: 'started', ...info }, () => `worker ${info.worker} running ${info.types.length} job types${also} on ${info.database} (queues: ${o.queues?.join(',') ?? 'all'}, concurrency ${info.concurrency}); Ctrl-C stops`);
        const signal = await stopped;
        // Executions are released first so another process can resume them while queue jobs drain.
        await stopServices(started, logger);
        await worker.stop();
        printResult(cmd, { event: 'stopped', signal, worker: worker.id, ...worker.stats }, () => `worker ${worker.id} stopped (${signal}): ${worker.stats.succeeded} succeeded, ${worker.stats.retried} retried, ${worker.stats.dead} dead`);
      } finally {
        await platform.close();
      }
    });
};
