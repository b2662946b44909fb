import type { FeatureService } from '../features/index.js';
import path from 'node:path';
import type { CapstanConfig } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { CapstanError } from '../core/errors.js';
import type { RegistryService } from '../registry/index.js';
import type { BackgroundService } from '../core/background-service.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { Database } from '../storage/database.js';
import type { Registry } from 'prom-client';
import { readCaptureSamples, type CaptureSamplePage, type CaptureSampleQuery } from './capture-samples.js';
import { EndpointHost } from './endpoint-host.js';
import type { DeployOptions, DeployResult, EndpointService, ServingActionContext } from './endpoint-service.js';
import { LocalEndpointService } from './local-endpoint-service.js';
import { registryModelSource, type ModelSource } from './model-source.js';
import { openModelRunner, type ModelRunner, type ModelRunnerOptions } from './model-runner.js';
import { oipModelMetadata, type OipModelMetadata } from './oip-metadata.js';
import { ServingMetrics } from './serving-metrics.js';
import { SqlEndpointStore } from './sql-endpoint-store.js';
import { SqlVariantStatsStore } from './sql-variant-stats-store.js';
import { VariantStatsBoard } from './variant-stats-board.js';
import { VariantStatsRecorder } from './variant-stats-recorder.js';

/** What serving is built from: a subset of the platform, so tests can build it alone. */
export interface ServingPlatformParts {
  config: CapstanConfig;
  db: Database;
  artifacts: ArtifactStore;
  logger: Logger;
  metrics: Registry;
  /** The model registry, looked up when a model is resolved. */
  registry: () => RegistryService;
  /** The feature store, looked up when a variant with `features:` enrichment is invoked; default none. */
  features?: () => FeatureService;
}

/** Options of the serving context; every field has a default. */
export interface ServingOptions {
  /** How often a server checks the database for endpoint changes made elsewhere; default 2000 ms. */
  syncIntervalMs?: number;
  /** How long replaced workers may finish in-flight requests; default 30000 ms. */
  drainMs?: number;
  /** How often this process adds its per-variant counts to the metadata DB; default 5000 ms. */
  statsFlushMs?: number;
  /** Width of a statistics time bucket; default 10000 ms. */
  statsBucketMs?: number;
  /** How long statistics are kept (and the longest window a reader may ask for); default 3600000 ms. */
  statsRetentionMs?: number;
  /** Where models come from; default the registry, packages cached under `$CAPSTAN_HOME/serving/packages`. */
  models?: ModelSource;
}

/** A deploy request as the pipelines' deploy step sends it. */
export interface DeployStepRequest {
  endpoint: string;
  model: string;
  version?: number;
  alias?: string;
  config: Record<string, unknown>;
  actor: string;
}

/**
 * `platform.serving`: the endpoint service (create, update, describe, list, delete, invoke, deploy)
 * running endpoints in this process, plus the pieces a server needs.
 */
export interface ServingContext extends EndpointService {
  /**
   * Create-or-update deploy, the function the pipeline `deploy` step and `capstan endpoints deploy`
   * call: creates endpoint `endpointName` serving `modelRef` (`models:/ncf/4`, `models:/ncf@champion`)
   * when it does not exist, otherwise replaces its variants with that model blue/green — new workers
   * load first, traffic switches, old workers drain — so no request fails. Rejects when the model
   * does not load, leaving the previous model serving.
   */
  deploy(endpointName: string, modelRef: string, options?: DeployOptions, ctx?: ServingActionContext): Promise<DeployResult>;
  /** The endpoints served by this process. */
  readonly host: EndpointHost;
  /** Keeps this process's endpoints in step with the database; `capstan up` starts it. */
  readonly background: BackgroundService;
  /** Resolves when the metadata database answers (OIP readiness); CAPSTAN_DB_UNAVAILABLE otherwise. */
  ready(): Promise<void>;
  /** OIP metadata of an endpoint: its versions and the signature of the targeted (else first live) variant. */
  modelMetadata(endpointName: string, targetVariant?: string): Promise<OipModelMetadata>;
  /** The adapter the pipelines' deploy step uses. */
  deployStep(request: DeployStepRequest): Promise<Record<string, unknown>>;
  /** Loads a registered model (`ncf@champion`, `models:/ncf/3`) on worker threads of its own, outside any endpoint (batch transform); the caller closes it. */
  openModel(ref: string, options?: ModelRunnerOptions): Promise<ModelRunner>;
  /** The endpoint's captured invocations, newest first, a page at a time; CAPSTAN_SERVING_ENDPOINT_NOT_FOUND for no endpoint. */
  captureSamples(endpointName: string, query?: CaptureSampleQuery): Promise<CaptureSamplePage>;
  /** Stops every endpoint here. */
  close(): Promise<void>;
}

/** Builds the serving context on the platform's adapters. */
export function createServing(parts: ServingPlatformParts, options: ServingOptions = {}): ServingContext {
  const store = new SqlEndpointStore(parts.db);
  const models = options.models ?? registryModelSource(parts.registry, parts.artifacts, path.join(parts.config.home, 'serving', 'packages'));
  const recorder = new VariantStatsRecorder(options.statsBucketMs ?? 10_000);
  const statsStore = new SqlVariantStatsStore(parts.db);
  const statsBoard = new VariantStatsBoard(recorder, statsStore, parts.logger, { retentionMs: options.statsRetentionMs });
  const host = new EndpointHost({
    store,
    models,
    artifacts: parts.artifacts,
    logger: parts.logger,
    metrics: new ServingMetrics(parts.metrics),
    stats: recorder,
    outbound: parts.config.outbound,
    drainMs: options.drainMs,
    features: parts.features,
    multiModelDir: path.join(parts.config.home, 'serving', 'multi-model'),
  });
  const service = new LocalEndpointService({ store, host, models, logger: parts.logger, statsBoard, stats: statsStore });
  const syncMs = options.syncIntervalMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  let statsTimer: NodeJS.Timeout | undefined;
  let syncing = false;
  const stopStats = async () => {
    if (statsTimer) clearInterval(statsTimer);
    statsTimer = undefined;
    // The last counts of this process still reach the shared statistics.
    await statsBoard.flushQuietly();
  };
  const background: BackgroundService = {
    name: 'endpoint-host',
    async start() {
      await host.loadAll();
      timer = setInterval(() => {
        if (syncing) return;
        syncing = true;
        host.sync().catch((err) => parts.logger.error({ err }, 'endpoint sync failed')).finally(() => (syncing = false));
      }, syncMs);
      timer.unref();
      statsTimer = setInterval(() => void statsBoard.flushQuietly(), options.statsFlushMs ?? 5000);
      statsTimer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await host.close();
      await stopStats();
    },
  };
  return {
    create: (name, input, ctx) => service.create(name, input, ctx),
    update: (name, input, ctx) => service.update(name, input, ctx),
    describe: (name) => service.describe(name),
    list: () => service.list(),
    delete: (name, ctx) => service.delete(name, ctx),
    invoke: (name, body, opts) => service.invoke(name, body, opts),
    deploy: (name, modelRef, opts, ctx) => service.deploy(name, modelRef, opts, ctx),
    variantStats: (name, opts) => service.variantStats(name, opts),
    models: (name) => service.models(name),
    host,
    background,
    async ready() {
      try {
        await parts.db.kysely.selectFrom('endpoints').select('name').limit(1).execute();
      } catch (err) {
        throw new CapstanError('CAPSTAN_DB_UNAVAILABLE', 'the metadata database did not answer', { cause: err });
      }
    },
    modelMetadata: (name, targetVariant) => oipModelMetadata(host, name, targetVariant),
    async captureSamples(name, query) {
      await service.describe(name);
      return readCaptureSamples(parts.artifacts, name, query);
    },
    openModel: (ref, opts) => openModelRunner({ models, logger: parts.logger, outbound: parts.config.outbound }, ref, opts),
    async deployStep(request) {
      const ref = `models:/${request.model}${request.version !== undefined ? `/${request.version}` : request.alias ? `@${request.alias}` : '/latest'}`;
      const result = await service.deploy(request.endpoint, ref, request.config as DeployOptions, { actor: request.actor });
      return { action: result.action, endpoint: result.endpoint.name, status: result.endpoint.status, model: result.model.name, version: result.model.version, digest: result.model.digest };
    },
    async close() {
      if (timer) clearInterval(timer);
      await host.close();
      await stopStats();
    },
  };
}
