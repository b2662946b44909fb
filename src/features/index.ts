/**
 * The features context's public surface: the FeatureService interface and its types, and the context
 * module the platform installs (definitions, ingestion, point-in-time training sets, online store).
 */
import path from 'node:path';
import { defineContext } from '../storage/context-module.js';
import { DuckDbEngine } from './duckdb-engine.js';
import type { FeatureService } from './feature-service.js';
import { installFeatureMetrics } from './feature-metrics.js';
import { featuresRoutes } from './http/features-routes.js';
import { Ingestion } from './ingestion.js';
import { LocalFeatureService, MATERIALIZE_JOB_TYPE } from './local-feature-service.js';
import { Materializer } from './materializer.js';
import { FeatureLeases } from './feature-leases.js';
import { MaterializationSweep } from './materialization-sweep.js';
import { featuresTables } from './migrations/0011-features.js';
import { featureLeases } from './migrations/0033-feature-leases.js';
import { OfflineFiles } from './offline-files.js';
import type { OnlineStore } from './online-store.js';
import { RedisOnlineStore } from './redis-online-store.js';
import { SqliteOnlineStore } from './sqlite-online-store.js';
import { SqlDefinitionStore } from './sql-definition-store.js';
import { TrainingSetBuilder } from './training-set.js';
import type { JobHandler } from '../storage/queue/job.js';

export * from './feature-service.js';
export type { FeatureEntity, FeatureGroup, GroupFreshness, TypedColumn, ValueType, FeatureRef } from './feature-types.js';
export type { FeatureDefinitionsInput, EntityInput, FeatureGroupInput } from './feature-definitions.js';
export type { IngestResult, IngestSource, RowError } from './ingestion.js';
export type { TrainingSetRequest, TrainingSetResult, FeatureColumnStats } from './training-set.js';
export { parseFeatureRef } from './feature-ref.js';
export { compileEntity, compileFeatureGroup } from './feature-definitions.js';
export { MATERIALIZE_JOB_TYPE } from './local-feature-service.js';

/** Feature store: `features.materialize` jobs, `capstan_features_freshness_seconds`, `/api/v1/entities|feature-groups|features`. */
export const featuresContext = defineContext<FeatureService>({
  name: 'features',
  migrations: { '0011_features': featuresTables, '0033_feature_leases': featureLeases },
  create(parts) {
    const home = parts.config.home;
    const engine = new DuckDbEngine({ tempDirectory: path.join(home, 'features', 'duckdb-tmp'), memoryLimit: parts.config.features.offlineMemoryLimit });
    const scratch = path.join(home, 'features', 'scratch');
    const files = new OfflineFiles(parts.artifacts, scratch);
    const online: OnlineStore = parts.config.features.onlineStore === 'redis' ? new RedisOnlineStore(parts.config.features.redisUrl) : new SqliteOnlineStore(path.join(home, 'features', 'online.db'));
    const store = new SqlDefinitionStore(parts.db);
    const service = new LocalFeatureService({
      store,
      ingestion: new Ingestion(engine, files, parts.artifacts),
      trainingSets: new TrainingSetBuilder(engine, files, parts.artifacts),
      materializer: new Materializer(engine, files, online, store),
      online,
      artifacts: parts.artifacts,
      leases: new FeatureLeases(parts.db, { waitMs: parts.config.features.lockWaitMs }),
      queue: parts.queue,
      pushMaxRecords: parts.config.features.pushMaxRecords,
    });
    installFeatureMetrics(parts.metrics, store);
    const materialize: JobHandler<{ group: string; version: number }> = async (job) => service.materialize(job.payload.group, { version: job.payload.version });
    const sweep = new MaterializationSweep(store, parts.queue, parts.config.features.materializeIntervalMs, parts.logger);
    return {
      service,
      background: [sweep],
      workServices: [sweep],
      jobHandlers: new Map([[MATERIALIZE_JOB_TYPE, materialize as JobHandler]]),
      async close() {
        await online.close();
        await engine.close();
      },
    };
  },
  routes: [featuresRoutes],
});
