/**
 * The registry context's public surface: the service interface and its types, reference parsing,
 * package digests, webhook signature helpers, and the context module the platform installs.
 */
import path from 'node:path';
import type { CapstanConfig } from '../core/config.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { Database } from '../storage/database.js';
import type { JobQueue } from '../storage/queue/job-queue.js';
import type { JobHandler } from '../storage/queue/job.js';
import { LocalRegistry } from './local-registry.js';
import { PackageReconciler } from './package-reconciler.js';
import { registrationPause } from './registration-pause.js';
import type { RegistryService } from './registry-service.js';
import { SqlExperimentStore } from './sql-experiment-store.js';
import { SqlRegistryStore } from './sql-registry-store.js';
import { SqlRunSearch } from './sql-run-search.js';
import { SqlWebhookStore, WEBHOOK_JOB_TYPE } from './sql-webhook-store.js';
import { webhookDelivery } from './webhook-delivery.js';
import { SecretBox } from '../core/secret-box.js';
import { defineContext } from '../storage/context-module.js';
import { registry as registryTables } from './migrations/0002-registry.js';
import { modelRegistrations } from './migrations/0008-model-registrations.js';
import { metricRollups } from './migrations/0031-metric-rollups.js';
import { experimentsRoutes } from './http/experiments-routes.js';
import { registryRoutes } from './http/registry-routes.js';
import type { OutboxHandler } from '../storage/outbox/index.js';
import { webhookSubscription } from './webhook-subscription.js';

export * from './registry-service.js';
export { MAX_RUN_PAGE, MAX_SERIES_RUNS, type MetricSeriesInput, type RunMetricSeries, type RunPage, type RunSearch } from './run-search.js';
export { formatModelRef, isBareModelName, parseModelRef, type ModelRef } from './model-ref.js';
export { inspectLocalPackage, packageDigest, parseManifest, pullVerifiedVersion } from './model-package.js';
export { MANIFEST_FILE, type ModelManifest } from '../core/model-manifest.js';
export { compileApprovalPolicy } from './approval-policy.js';
export { isFile } from './package-source.js';
export { assertVersionFilesWritable } from './version-immutability.js';
export { metricPoints } from './run-inputs.js';
export { EVENT_HEADER } from './webhook-delivery.js';
export { signLegacyWebhook, verifyLegacyWebhook, LEGACY_SIGNATURE_HEADER, LEGACY_TIMESTAMP_HEADER, LEGACY_DELIVERY_HEADER } from './legacy-webhook-signature.js';
export { WEBHOOK_JOB_TYPE, WEBHOOK_QUEUE } from './sql-webhook-store.js';
export { localActor } from './experiment-tracking.js';
export {
  ApprovalStatusSchema,
  ArtifactFileSchema,
  AuditEventSchema,
  ComparisonSchema,
  ExperimentSchema,
  LineageSchema,
  MetricPointSchema,
  ModelGroupSchema,
  ModelVersionSchema,
  RegistryEventSchema,
  RunSchema,
  RunStatusSchema,
  WebhookSchema,
} from './http/registry-schemas.js';

/** What the registry is built from: a subset of the platform, so tests can build it alone. */
export interface RegistryPlatformParts {
  config: CapstanConfig;
  db: Database;
  artifacts: ArtifactStore;
  queue: JobQueue;
  events: EventBus;
  logger: Logger;
}

/** The registry service plus its job handlers and cleanup, as the platform wires them. */
export interface RegistryContext {
  service: RegistryService;
  /** Job handlers by type (`webhook.deliver`). */
  jobHandlers: Map<string, JobHandler>;
  /** Releases the webhook HTTP agent. */
  close(): Promise<void>;
  /** Outbox subscriptions the platform registers (`registry.webhooks`: events to webhook delivery jobs). */
  subscriptions: { name: string; patterns: string[]; handler: OutboxHandler }[];
  /** Removes package folders a killed registration left (runs once when the background services start). */
  reconciler: PackageReconciler;
}

/** Builds the local registry on the platform's adapters. */
export function createRegistry(parts: RegistryPlatformParts): RegistryContext {
  const box = new SecretBox({ secretKey: parts.config.secretKey, keyFile: path.join(parts.config.home, 'secret.key') });
  const webhooks = new SqlWebhookStore(parts.db, parts.queue, box);
  const store = new SqlRegistryStore(parts.db);
  const experiments = new SqlExperimentStore(parts.db, (runId) => parts.artifacts.uriFor(`runs/${runId}/artifacts`));
  const service = new LocalRegistry({
    store,
    experiments,
    runSearch: new SqlRunSearch(parts.db),
    webhooks,
    artifacts: parts.artifacts,
    events: parts.events,
    outbound: parts.config.outbound,
    logger: parts.logger,
    pause: registrationPause(parts.config.home, parts.config.registry.testPauseAt),
  });
  const delivery = webhookDelivery({ webhooks, outbound: parts.config.outbound });
  return {
    service,
    jobHandlers: new Map([[WEBHOOK_JOB_TYPE, delivery.handler as JobHandler]]),
    close: delivery.close,
    subscriptions: [webhookSubscription(webhooks, parts.db)],
    reconciler: new PackageReconciler(store, parts.artifacts, parts.logger, { abandonedAfterMs: parts.config.registry.abandonedAfterMs }),
  };
}

/** Model registry and experiment tracking: `platform.registry`, the `webhook.deliver` jobs, the package reconciler, `/api/v1/experiments|runs|models|webhooks`. */
export const registryContext = defineContext<RegistryService>({
  name: 'registry',
  migrations: { '0002_registry': registryTables, '0008_model_registrations': modelRegistrations, '0031_metric_rollups': metricRollups },
  create(parts) {
    const ctx = createRegistry(parts);
    return { service: ctx.service, jobHandlers: ctx.jobHandlers, background: [ctx.reconciler], subscriptions: ctx.subscriptions, close: ctx.close };
  },
  routes: [experimentsRoutes, registryRoutes],
});
