import type { FastifyPluginAsync } from 'fastify';
import type { Migration } from 'kysely';
import type { Registry } from 'prom-client';
import type { BackgroundService } from '../core/background-service.js';
import type { CapstanConfig } from '../core/config.js';
import type { EventBus } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { ArtifactStore } from './artifacts/artifact-store.js';
import type { Database } from './database.js';
import type { JobQueue } from './queue/job-queue.js';
import type { JobHandler } from './queue/job.js';
import type { OutboxHandler } from './outbox/index.js';

/**
 * What every context is built from: the platform's configuration and shared adapters, plus lazy
 * access to other contexts' services. It lives beside the adapters it names so a context depends on
 * `core` and `storage` only, never on the composition root that assembles it.
 */
export interface ContextParts {
  config: CapstanConfig;
  logger: Logger;
  db: Database;
  artifacts: ArtifactStore;
  queue: JobQueue;
  events: EventBus;
  /** Prometheus registry served at `/metrics`; a context registers its own metrics on it. */
  metrics: Registry;
  /**
   * Another context's service by its module name, looked up when called (not when the context is
   * built), so contexts may be listed in any order; throws CAPSTAN_CONFIG_CONTEXT_MISSING when no
   * module of that name is installed.
   */
  use<T>(name: string): T;
}

/** A named, durable subscription to domain events (`model_version.*`, `*`): see docs/events.md. */
export interface OutboxSubscription {
  name: string;
  patterns: string[];
  handler: OutboxHandler;
}

/** A built context: its service and what it contributes to the platform. */
export interface ContextInstance<S> {
  /** The context's service, reachable as `platform.context(name)` and handed to its routes. */
  service: S;
  /** Job handlers by job type, run by every queue worker; default none. */
  jobHandlers?: ReadonlyMap<string, JobHandler>;
  /** Long-running parts `capstan up` starts and stops, in order; default none. */
  background?: BackgroundService[];
  /**
   * The background services that take shared work from the database, a subset of `background`:
   * `capstan worker` runs them too, so any number of processes share that work; default none.
   */
  workServices?: BackgroundService[];
  /** Durable event subscriptions (the outbox delivers each matching event at least once); default none. */
  subscriptions?: OutboxSubscription[];
  /** Releases what the context holds (agents, endpoint workers); runs in reverse context order on close. */
  close?(): Promise<void> | void;
  /** OpenAPI paths that depend on data (one operation per active use case), merged into `/openapi.json` on each request; default none. */
  apiDocs?(): Promise<ApiDocsFragment>;
}

/** Paths (and the tags they use) a context adds to the API document at request time. */
export interface ApiDocsFragment {
  paths: Record<string, Record<string, unknown>>;
  tags?: { name: string; description: string }[];
}

/** Options a context's route plugin receives: its own service, the configuration and the logger. */
export interface ContextRouteOptions<S> {
  service: S;
  config: CapstanConfig;
  logger: Logger;
}

/** A context's HTTP routes, registered by the server with the context's service. */
export type ContextRoutes<S> = FastifyPluginAsync<ContextRouteOptions<S>>;

/**
 * One bounded context as the platform composes it: a folder under `src/` whose `index.ts` exports
 * one of these, plus one line in the platform's context list (`src/platform/contexts.ts`).
 */
export interface ContextModule<S = unknown> {
  /** Unique name, also the key other contexts pass to `parts.use(name)`. */
  readonly name: string;
  /** Schema migrations this context owns, by applied name (`0002_registry`); names never change once shipped. */
  readonly migrations: Readonly<Record<string, Migration>>;
  /** Builds the context on the platform's adapters. */
  create(parts: ContextParts): ContextInstance<S>;
  /** HTTP routes of the context; default none. */
  readonly routes?: readonly ContextRoutes<S>[];
}

/** Declares a context module with its service type inferred (an identity helper for type checking). */
export function defineContext<S>(module: ContextModule<S>): ContextModule<S> {
  return module;
}
