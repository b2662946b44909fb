import { Counter, Histogram, type Registry } from 'prom-client';
import type { EventBus } from '../core/events.js';
import type { ExecutionRecord } from './execution.js';

/** What the pipeline metrics read. */
export interface PipelineMetricsSources {
  metrics: Registry;
  events: EventBus;
  /** One execution with its steps, read when it ends. */
  execution: (id: string) => Promise<ExecutionRecord>;
}

/** Step durations from a 50 ms no-op to a two-hour training job. */
const STEP_BUCKETS = [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200];

/**
 * Pipeline metrics on `/metrics`: `capstan_pipeline_executions_total{pipeline,state}`, and per step
 * that ran `capstan_pipeline_step_duration_seconds{pipeline,step,state}`, counted by the process that
 * drove the execution; `capstan_pipeline_step_cache_hits_total{pipeline}` for steps taken from the cache.
 */
export function installPipelineMetrics(s: PipelineMetricsSources): void {
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
