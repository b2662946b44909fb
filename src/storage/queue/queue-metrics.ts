import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../core/logger.js';
import { JOB_STATES, type JobStats } from './jobs-service.js';

/** What the queue metric reads. */
export interface QueueMetricsSources {
  metrics: Registry;
  logger: Logger;
  /** Jobs per state, read from the metadata DB at each scrape. */
  jobStats: () => Promise<JobStats>;
}

/**
 * `capstan_queue_jobs{state}` on `/metrics`: jobs in each state, shared by every process on the
 * database, so any scrape shows the whole queue (a growing `dead` count is the alert to set).
 */
export function installQueueMetrics(s: QueueMetricsSources): void {
  new Gauge({
    name: 'capstan_queue_jobs',
    help: 'Jobs in the durable queue, by state',
    labelNames: ['state'],
    registers: [s.metrics],
    async collect() {
      try {
        const stats = await s.jobStats();
        for (const state of JOB_STATES) this.set({ state }, stats[state] ?? 0);
      } catch (err) {
        s.logger.warn({ err }, 'could not read queue statistics for /metrics');
      }
    },
  });
}
