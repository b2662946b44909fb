import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { ExecutionRecord } from '../pipelines/execution.js';
import { JOB_STATES, type JobStats } from '../storage/queue/jobs-service.js';

/** What the queue and pipeline metrics read. */
export interface PlatformMetricsSources {
  metrics: Registry;
  events: EventBus;
  logger: Logger;
  /** Jobs per state, read from the metadata DB at each scrape. */
  jobStats: () => Promise<JobStats>;
  /** One execution with its steps, read when it ends. */
  execution: (id: string) => Promise<ExecutionRecord>;
}

/** Step durations from a 50 ms no-op to a two-hour training job. */
const STEP_BUCKETS = [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200];

/**
 * Queue and pipeline metrics on `/metrics`:
 * - `capstan_queue_jobs{state}`: jobs in each state, shared by every process on the database, so any
 *   scrape shows the whole queue (a growing `dead` count is the alert to set);
 * - `capstan_pipeline_executions_total{pipeline,state}`, and per step that ran
 *   `capstan_pipeline_step_duration_seconds{pipeline,step,state}`, counted by the process that drove
 *   the execution; `capstan_pipeline_step_cache_hits_total{pipeline}` for steps taken from the cache.
 */
export function installPlatformMetrics(s: PlatformMetricsSources): void {
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
  const executions = new Counter({ name: 'capstan_pipeline_executions_total', help: 'Pipeline executions that ended, by pipeline and final state', labelNames: ['pipeline', 'state'], registers: [s.metrics] });
  const steps = new Histogram({ name: 'capstan_pipeline_step_duration_seconds', help: 'Duration of pipeline steps that ran (not from the cache), by final state', labelNames: ['pipeline', 'step', 'state'], buckets: STEP_BUCKETS, registers: [s.metrics] });
  const cacheHits = new Counter({ name: 'capstan_pipeline_step_cache_hits_total', help: 'Pipeline steps taken from the step cache', labelNames: ['pipeline'], registers: [s.metrics] });
  s.events.subscribe('pipeline_execution.*', async (event) => {
    const { executionId, pipeline, state } = event.data as { executionId: string; pipeline: string; state: string };
    executions.inc({ pipeline, state });
    const exec = await s.execution(executionId);
    for (const step of exec.steps) {
      if (step.cached) cacheHits.inc({ pipeline });
      else if (step.durationMs != null && (step.state === 'succeeded' || step.state === 'failed')) steps.observe({ pipeline, step: step.name, state: step.state }, step.durationMs / 1000);
    }
  });
}
