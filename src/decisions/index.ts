/**
 * The decisions context's public surface: the decision service (versioned use cases combining
 * models, features, functions and rules into one stored, explainable, replayable decision), its
 * records and reports, the feature-reading port, and the context module the platform installs.
 */
import path from 'node:path';
import { CapstanError, isCapstanError } from '../core/errors.js';
import { SecretBox } from '../core/secret-box.js';
import { defineContext } from '../storage/context-module.js';
import type { EndpointService } from '../serving/index.js';
import { AsyncDecisions, DECIDE_JOB_TYPE, DECISION_COMPLETED_EVENT } from './async-decisions.js';
import { deadJobSubscription } from '../storage/queue/job-dead-event.js';
import { DecisionAlerts, DECISION_ALERT_EVENT } from './decision-alerts.js';
import { DecisionMetrics } from './decision-metrics.js';
import type { DecisionService } from './decision-service.js';
import type { FeatureReader } from './feature-reader.js';
import { decisionsRoutes } from './http/decisions-routes.js';
import { useCaseApiDocs } from './http/usecase-api-docs.js';
import { LocalDecisionService } from './local-decision-service.js';
import { decisionsTables } from './migrations/0014-decisions.js';
import { recordTimeIdIndex } from './migrations/0030-record-time-id-index.js';
import { recordReplayProjection } from './migrations/0032-record-replay-projection.js';
import { RecordRetention } from './record-retention.js';
import { SqlDecisionStore } from './sql-decision-store.js';
import { taskAgent, type TaskRunnerDeps } from './task-runners.js';
import type { JobHandler } from '../storage/queue/job.js';
import type { DecisionSnapshot } from './run-decision.js';

export type * from './decision-service.js';
export type * from './decision-types.js';
export type * from './feature-reader.js';
export type * from './usecase-definition.js';
export type { DecisionSnapshot, TaskRecord } from './run-decision.js';
export { DECISION_COMPLETED_EVENT } from './async-decisions.js';
export { compileUseCase } from './compile-usecase.js';
export { DECISION_ALERT_EVENT } from './decision-alerts.js';

/** How long a process trusts its copy of an endpoint's pinned model versions. */
const MODEL_CACHE_MS = 5000;

/** Decisions: `platform.context('decisions')`, the `decisions.decide` jobs, callbacks and alerts through the outbox, record retention, `/api/v1/decisions`. */
export const decisionsContext = defineContext<DecisionService>({
  name: 'decisions',
  migrations: { '0014_decisions': decisionsTables, '0030_record_time_id_index': recordTimeIdIndex, '0032_record_replay_projection': recordReplayProjection },
  create(parts) {
    const store = new SqlDecisionStore(parts.db);
    const agent = taskAgent(parts.config.outbound);
    const models = new Map<string, { at: number; variants: Map<string, { name?: string; version?: number }> }>();
    const serving = () => parts.use<EndpointService>('serving');
    const runner: TaskRunnerDeps = {
      serving,
      features: () => {
        try {
          return parts.use<FeatureReader>('features');
        } catch (err) {
          if (isCapstanError(err, 'CAPSTAN_CONFIG_CONTEXT_MISSING')) throw new CapstanError('CAPSTAN_DECISIONS_FEATURES_UNAVAILABLE', 'a features task needs the features context (the feature store), which is not installed on this platform', { cause: err, retryable: false });
          throw err;
        }
      },
      pastDecisions: async (usecase, subject, limit, sinceMs) => {
        const rows = await store.records({ usecase, subject, role: 'champion', status: 'ok', limit, ...(sinceMs === undefined ? {} : { since: new Date(sinceMs).toISOString() }) });
        return rows.map((r) => {
          const snapshot = JSON.parse(r.snapshot) as DecisionSnapshot;
          return { id: r.id, outcome: r.outcome, output: snapshot.output, tasks: Object.fromEntries(snapshot.tasks.map((t) => [t.name, t.output])), time: new Date(Number(r.created_at)).toISOString() };
        });
      },
      outbound: parts.config.outbound,
      agent,
      modelOf: async (endpoint, variant) => {
        let hit = models.get(endpoint);
        if (!hit || Date.now() - hit.at > MODEL_CACHE_MS || !hit.variants.has(variant)) {
          const ep = await serving().describe(endpoint);
          hit = { at: Date.now(), variants: new Map(ep.variants.map((v) => [v.name, { name: v.resolved.name, version: v.resolved.version }])) };
          models.set(endpoint, hit);
        }
        return hit.variants.get(variant) ?? {};
      },
    };
    const metrics = new DecisionMetrics(parts.metrics);
    const box = new SecretBox({ secretKey: parts.config.secretKey, keyFile: path.join(parts.config.home, 'secret.key') });
    // The two refer to each other; each reaches the other through a function called after both exist.
    const service: LocalDecisionService = new LocalDecisionService({ store, runner, outbound: parts.config.outbound, metrics, logger: parts.logger, async: () => asyncDecisions });
    const asyncDecisions: AsyncDecisions = new AsyncDecisions({ store, queue: parts.queue, box, outbound: parts.config.outbound, agent, service: () => service });
    const alerts = new DecisionAlerts({ store, service, db: parts.db, outbound: parts.config.outbound, agent, box, logger: parts.logger, baseUrl: `http://${parts.config.server.host.includes(':') ? `[${parts.config.server.host}]` : parts.config.server.host}:${parts.config.server.port}` });
    const retention = new RecordRetention(store, service, parts.logger);
    return {
      service,
      jobHandlers: new Map([[DECIDE_JOB_TYPE, asyncDecisions.handler as JobHandler]]),
      background: [retention, alerts],
      workServices: [retention, alerts],
      subscriptions: [
        { name: 'decisions.callbacks', patterns: [DECISION_COMPLETED_EVENT], handler: asyncDecisions.callbacks },
        { name: 'decisions.alerts', patterns: [DECISION_ALERT_EVENT], handler: alerts.notify },
        deadJobSubscription('decisions.dead-jobs', parts.queue, { [DECIDE_JOB_TYPE]: asyncDecisions.deadJob }),
      ],
      close: () => agent.close(),
      apiDocs: () => useCaseApiDocs(service),
    };
  },
  routes: [decisionsRoutes],
});
export { writeRecordsParquet } from './parquet-export.js';
