import path from 'node:path';
import { Registry } from 'prom-client';
import { compileConfig, type CapstanConfig, type ConfigSources } from '../core/config.js';
import { CapstanError } from '../core/errors.js';
import { EventBus } from '../core/events.js';
import { fsReason } from '../core/file-errors.js';
import { makeDirectory } from '../core/make-directory.js';
import { createLogger, type Logger } from '../core/logger.js';
import { createArtifactStore } from '../storage/artifacts/index.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { openDatabase, type Database } from '../storage/database.js';
import { JobQueue } from '../storage/queue/job-queue.js';
import { Worker } from '../storage/queue/worker.js';
import type { JobHandler } from '../storage/queue/job.js';
import { ApiKeyStore } from '../server/auth/api-key-store.js';
import { ncfRankingHandlerModule } from '../algorithms/ncf/ncf-handler-module.js';
import { createServing, registerBuiltinHandler, type ServingContext } from '../serving/index.js';
import type { RegistryService } from '../registry/registry-service.js';
import { createRegistry } from '../registry/index.js';
import { PipelineService } from '../pipelines/pipeline-service.js';
import type { BackgroundService } from './background-service.js';
import { installPlatformMetrics } from './platform-metrics.js';

/**
 * The composition root: one object holding the configuration, the adapters chosen by it and the
 * context services built on them. The server, the workers and the CLI all start from here, so the
 * embedded default and a PostgreSQL + S3 deployment are wired the same way.
 */
export interface Platform {
  readonly config: CapstanConfig;
  readonly logger: Logger;
  readonly db: Database;
  readonly artifacts: ArtifactStore;
  readonly queue: JobQueue;
  readonly events: EventBus;
  readonly apiKeys: ApiKeyStore;
  /** Prometheus registry served at `/metrics`; contexts register their own metrics on it. */
  readonly metrics: Registry;
  /** Job handlers by job type; contexts register theirs when the platform opens, workers run them. */
  readonly jobHandlers: Map<string, JobHandler>;
  /** Background services contexts contribute; `capstan up` starts them all. */
  readonly background: BackgroundService[];
  /**
   * The background services that take shared work from the database (pipeline scheduler, trigger
   * watcher), a subset of `background`: `capstan worker` runs them beside its queue worker, so any
   * number of `up` and `worker` processes share executions and fire each trigger once.
   */
  readonly workServices: BackgroundService[];
  /** Real-time endpoints (`src/serving`): the endpoint service, `deploy(endpoint, modelRef, options)`, and the endpoints this process serves. */
  readonly serving: ServingContext;
  /** Model registry and experiment tracking (`src/registry`); its webhook deliveries run as `webhook.deliver` jobs. */
  readonly registry: RegistryService;
  /** Pipelines (`src/pipelines`): definitions, executions, step logs; its scheduler and trigger watcher are background services. */
  readonly pipelines: PipelineService;
  /** Registers cleanup to run (in reverse order) on close. */
  onClose(fn: () => Promise<void> | void): void;
  /** Closes services, then adapters. */
  close(): Promise<void>;
}

/** Options for opening the platform. */
export interface PlatformOptions {
  /** Already-resolved configuration; default: compiled from `sources`. */
  config?: CapstanConfig;
  /** Where configuration comes from when `config` is not given. */
  sources?: ConfigSources;
  /** Logger; default a pino logger at the configured level on stderr. */
  logger?: Logger;
  /** Apply migrations on open; default true. */
  migrate?: boolean;
}

/** Opens the metadata DB and artifact store named by the configuration and builds the services. */
export async function openPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const config = options.config ?? compileConfig(options.sources);
  const logger = options.logger ?? createLogger({ level: config.logLevel, format: config.logFormat });
  try {
    // Owner-only: the home holds the database (key hashes, webhook secrets) and the secret key file.
    makeDirectory(config.home, 0o700);
  } catch (err) {
    // mkdir answers ENOENT for a path under a file system that takes no new directories (/proc).
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'its parent does not accept new directories' : fsReason(err);
    throw new CapstanError('CAPSTAN_CONFIG_INVALID', `cannot use ${config.home} as the home directory: ${why}`, { cause: err, fields: { setting: 'home', path: config.home } });
  }
  const db = await openDatabase(config.databaseUrl, {
    synchronous: config.sqlite.synchronous,
    busyTimeoutMs: config.sqlite.busyTimeoutMs,
    migrate: options.migrate,
    onIdleConnectionError: (err) => logger.warn({ err }, 'the database ended an idle connection; the next query opens a new one'),
  });
  const closers: (() => Promise<void> | void)[] = [];
  let artifacts: ArtifactStore;
  try {
    artifacts = await createArtifactStore(config);
  } catch (err) {
    await db.close();
    throw err;
  }
  const events = new EventBus((err, event) => logger.error({ err, event: event.type }, 'event subscriber failed'));
  const queue = new JobQueue(db, config.queue);
  const apiKeys = new ApiKeyStore(db);
  const jobHandlers = new Map<string, JobHandler>();
  // The queue worker runs whatever handlers contexts register in jobHandlers; `capstan up` starts it.
  const background: BackgroundService[] = [new Worker({ queue, handlers: jobHandlers, logger })];
  const metrics = new Registry();
  const registryContext = createRegistry({ config, db, artifacts, queue, events, logger });
  for (const [type, handler] of registryContext.jobHandlers) jobHandlers.set(type, handler);
  closers.push(() => registryContext.close());
  // Algorithms bring their own serving handlers; serving never imports them.
  registerBuiltinHandler('ncf-ranking', ncfRankingHandlerModule);
  const serving = createServing({ config, db, artifacts, logger, metrics, registry: () => registryContext.service });
  background.push(serving.background);
  closers.push(() => serving.close());
  background.push(registryContext.reconciler);
  // Pipelines register models in this registry and deploy through this serving context.
  const pipelines = new PipelineService({ db, artifacts, logger, events, registry: () => registryContext.service }, {
    scheduler: { leaseMs: config.pipelines.leaseMs },
    // Step working directories live in the home, where a restart sweeps what a killed process left.
    local: { killGraceMs: config.pipelines.killGraceMs, workRoot: path.join(config.home, 'tmp') },
  });
  pipelines.setDeployer({ deploy: (request) => serving.deployStep(request) });
  const workServices: BackgroundService[] = [pipelines.scheduler, pipelines.triggerWatcher];
  background.push(...workServices);
  installPlatformMetrics({ metrics, events, logger, jobStats: () => queue.stats(), execution: (id) => pipelines.execution(id) });
  closers.push(() => pipelines.close());
  let closed = false;
  return {
    config,
    logger,
    db,
    artifacts,
    queue,
    events,
    apiKeys,
    metrics,
    jobHandlers,
    background,
    workServices,
    serving,
    registry: registryContext.service,
    pipelines,
    onClose: (fn) => void closers.push(fn),
    async close() {
      if (closed) return;
      closed = true;
      for (const fn of closers.reverse()) {
        try {
          await fn();
        } catch (err) {
          logger.error({ err }, 'error while closing');
        }
      }
      await artifacts.close();
      await db.close();
    },
  };
}
