import { Registry } from 'prom-client';
import type { BackgroundService } from '../core/background-service.js';
import { compileConfig, type CapstanConfig, type ConfigSources } from '../core/config.js';
import { CapstanError } from '../core/errors.js';
import { EventBus } from '../core/events.js';
import { fsReason } from '../core/file-errors.js';
import { makeDirectory } from '../core/make-directory.js';
import { createLogger, type Logger } from '../core/logger.js';
import type { ApiKeyStore } from '../auth/index.js';
import type { PipelineService } from '../pipelines/index.js';
import type { RegistryService } from '../registry/index.js';
import type { ServingContext } from '../serving/index.js';
import { createArtifactStore } from '../storage/artifacts/index.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { ApiDocsFragment, ContextModule, ContextParts, ContextRoutes, OutboxSubscription } from '../storage/context-module.js';
import { openDatabase, type Database } from '../storage/database.js';
import { JobQueue } from '../storage/queue/job-queue.js';
import { installQueueMetrics } from '../storage/queue/queue-metrics.js';
import { OutboxDispatcher, OutboxStore, type OutboxCrashPoint } from '../storage/outbox/index.js';
import { Worker } from '../storage/queue/worker.js';
import type { JobHandler } from '../storage/queue/job.js';
import { ncfRankingHandlerModule } from '../algorithms/ncf/index.js';
import { registerBuiltinHandler } from '../serving/index.js';
import { contextModules } from './contexts.js';
import { collectMigrations } from './migrations.js';

/** An installed context: its name, the service it built and its route plugins. */
export interface InstalledContext {
  readonly name: string;
  readonly service: unknown;
  /** The context's route plugins, registered by the server with its service. */
  readonly routes: readonly ContextRoutes<any>[];
  /** Data-dependent OpenAPI paths the context adds to the API document; undefined for none. */
  readonly apiDocs?: () => Promise<ApiDocsFragment>;
}

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
  /** In-process, non-durable signals (metrics, wake-ups); durable domain events go through `outbox`. */
  readonly events: EventBus;
  /** The durable event outbox: subscribe named handlers; `capstan up` and `capstan worker` run its dispatcher. */
  readonly outbox: OutboxDispatcher;
  /** The outbox tables, for inspection. */
  readonly outboxStore: OutboxStore;
  /** API keys (`src/auth`): create, list, revoke, authenticate. */
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
  /** The installed contexts, in build order (`src/platform/contexts.ts`). */
  readonly contexts: readonly InstalledContext[];
  /** A context's service by module name; CAPSTAN_CONFIG_CONTEXT_MISSING when none is installed. */
  context<T>(name: string): T;
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
  /** The contexts to install, in build order; default every context (`contextModules`). */
  contexts?: readonly ContextModule<any>[];
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
  const modules = options.contexts ?? contextModules;
  const migrations = collectMigrations(modules);
  const db = await openDatabase(config.databaseUrl, {
    synchronous: config.sqlite.synchronous,
    busyTimeoutMs: config.sqlite.busyTimeoutMs,
    migrations,
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
  // The durable event outbox (docs/decisions/0009-event-outbox.md).
  const outboxStore = new OutboxStore(db);
  const crash = config.testing.outboxCrash?.match(/^(before-deliver|after-deliver):(.+)$/);
  const outbox = new OutboxDispatcher(outboxStore, logger, {
    pollMs: config.outbox.pollMs,
    leaseMs: config.outbox.leaseMs,
    maxAttempts: config.outbox.maxAttempts,
    backoffBaseMs: config.queue.backoffBaseMs,
    backoffMaxMs: config.queue.backoffMaxMs,
    retentionMs: config.outbox.retentionHours * 3_600_000,
    crash: crash ? { point: crash[1] as OutboxCrashPoint, marker: crash[2] } : undefined,
  });
  // Writers publish each event on the local bus after commit: a wake-up, so local subscribers need not wait for a poll.
  events.subscribe('*', () => outbox.wake());
  const jobHandlers = new Map<string, JobHandler>();
  // The queue worker runs whatever handlers contexts register in jobHandlers; `capstan up` starts it.
  const background: BackgroundService[] = [new Worker({ queue, handlers: jobHandlers, logger })];
  const workServices: BackgroundService[] = [];
  const metrics = new Registry();
  installQueueMetrics({ metrics, logger, jobStats: () => queue.stats() });

  // Algorithms bring their own serving handlers; serving never imports them.
  registerBuiltinHandler('ncf-ranking', ncfRankingHandlerModule);
  const services = new Map<string, unknown>();
  const context = <T>(name: string): T => {
    if (!services.has(name)) throw new CapstanError('CAPSTAN_CONFIG_CONTEXT_MISSING', `the ${name} context is not installed on this platform`, { fields: { context: name } });
    return services.get(name) as T;
  };
  const parts: ContextParts = { config, logger, db, artifacts, queue, events, metrics, use: context };
  const contexts: InstalledContext[] = [];
  const subscriptions: OutboxSubscription[] = [];
  try {
    for (const module of modules) {
      if (services.has(module.name)) throw new CapstanError('CAPSTAN_CONFIG_CONTEXT_DUPLICATE', `two contexts are named ${module.name}`, { fields: { context: module.name } });
      const built = module.create(parts);
      services.set(module.name, built.service);
      contexts.push({ name: module.name, service: built.service, routes: module.routes ?? [], apiDocs: built.apiDocs?.bind(built) });
      for (const [type, handler] of built.jobHandlers ?? []) jobHandlers.set(type, handler);
      background.push(...(built.background ?? []));
      workServices.push(...(built.workServices ?? []));
      subscriptions.push(...(built.subscriptions ?? []));
      if (built.close) closers.push(built.close);
    }
  } catch (err) {
    for (const fn of closers.reverse()) await Promise.resolve(fn()).catch(() => {});
    await artifacts.close();
    await db.close();
    throw err;
  }
  background.push(outbox); // last to start, first to stop
  closers.push(() => outbox.stop()); // a dispatcher started by hand stops before the adapters close
  let closed = false;
  const platform: Platform = {
    config,
    logger,
    db,
    artifacts,
    queue,
    events,
    outbox,
    outboxStore,
    metrics,
    jobHandlers,
    background,
    workServices,
    contexts,
    context,
    // The four contexts every build installs keep a typed field; a platform built without one throws on access.
    get apiKeys() {
      return context<ApiKeyStore>('auth');
    },
    get serving() {
      return context<ServingContext>('serving');
    },
    get registry() {
      return context<RegistryService>('registry');
    },
    get pipelines() {
      return context<PipelineService>('pipelines');
    },
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
  // Contexts' subscriptions are registered in the database on open, so every process records deliveries for them.
  try {
    for (const sub of subscriptions) await outbox.subscribe(sub.name, sub.patterns, sub.handler);
  } catch (err) {
    await platform.close();
    throw err;
  }
  return platform;
}
