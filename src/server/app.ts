import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../platform/platform.js';
import { ConsoleSessions, installAuth } from '../auth/index.js';
import { consoleRoutes } from './console/console-routes.js';
import { installHttpMetrics } from './http-metrics.js';
import { registerComponentSchemas } from './openapi/component-schemas.js';
import { OPENAPI_PATH, swaggerOptions, swaggerUiOptions } from './openapi/swagger-options.js';
import { installContextApiDocs } from './openapi/context-api-docs.js';
import { clientErrorHandler, frameworkErrorHandler, installProblemHandlers } from '../core/problem.js';
import { installOriginGuard } from './request-origin-guard.js';
import { enforceRouteAccess, type RouteRecord } from './route-access.js';
import { routePlugins, type RoutePlugin } from './routes/index.js';
import { installServerErrorEvents } from './server-error-events.js';
import { LazyRequestLogger } from './lazy-request-logger.js';
import type { Logger } from '../core/logger.js';
import type { Bindings, ChildLoggerOptions } from 'pino';

/** A Fastify instance with Capstan's type provider. */
export type CapstanApp = FastifyInstance & { readonly capstanRoutes: RouteRecord[] };

/** Options for building the HTTP app. */
export interface AppOptions {
  /** Log errors, and each request at debug level, through the platform logger; default false (quiet tests). */
  logRequests?: boolean;
  /** Route plugins registered after every context's, for embedding Capstan or for tests; default none. */
  extraPlugins?: RoutePlugin[];
  /** The address the server will bind, for the Host check; default `config.server.host`. */
  bindHost?: string;
}

/** Builds the HTTP API: OpenAPI, problem+json errors, auth on every declared route, and every context's routes. */
export async function buildApp(platform: Platform, options: AppOptions = {}): Promise<CapstanApp> {
  const { config } = platform;
  const app = Fastify({
    // pino's Logger type is wider than Fastify's base logger; typed as the base so hooks take the default instance type.
    loggerInstance: options.logRequests ? (platform.logger as FastifyBaseLogger) : undefined,
    logger: options.logRequests ? undefined : false,
    bodyLimit: config.server.bodyLimit,
    // Fastify's two info lines per request would dominate logs (and cost throughput) on invocation routes; one debug line is enough.
    logController: new LogController({ disableRequestLogging: true }),
    // Without a logger Fastify hands every request its null logger; with one, each request's child is made on first use.
    ...(options.logRequests ? { childLoggerFactory: (logger: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions) => new LazyRequestLogger(logger as Logger, bindings, opts) as unknown as FastifyBaseLogger } : {}),
    return503OnClosing: true,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const routes: RouteRecord[] = [];
  enforceRouteAccess(app, routes);
  installProblemHandlers(app);
  // Before auth: a page's request is refused whether or not it could have carried a key.
  installOriginGuard(app, { bindHost: options.bindHost ?? config.server.host, allowedHosts: config.server.allowedHosts, allowedOrigins: config.server.allowedOrigins });
  const sessions = new ConsoleSessions(platform.db);
  installAuth(app, platform.apiKeys, config.server.auth, sessions);
  installHttpMetrics(app, platform.metrics);
  installServerErrorEvents(app, platform);
  if (options.logRequests) {
    // Synchronous and checked first: the line's fields are not built, nor a promise made, for a level that drops it.
    app.addHook('onResponse', (request, reply, done) => {
      if (platform.logger.isLevelEnabled('debug')) {
        request.log.debug({ method: request.method, url: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
      }
      done();
    });
  }

  installContextApiDocs(app, platform.contexts);
  registerComponentSchemas(app);
  await app.register(swagger, swaggerOptions(config.server.auth));
  await app.register(swaggerUi, swaggerUiOptions);
  // swagger-ui registers its own routes without our access config; they serve static documentation only.
  app.get(OPENAPI_PATH, { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  for (const plugin of routePlugins) await app.register(plugin, { platform });
  await app.register(consoleRoutes, { platform, sessions });
  for (const ctx of platform.contexts) {
    for (const plugin of ctx.routes) await app.register(plugin, { service: ctx.service, config, logger: platform.logger });
  }
  for (const plugin of options.extraPlugins ?? []) await app.register(plugin, { platform });

  await app.ready();
  return Object.assign(app, { capstanRoutes: routes }) as unknown as CapstanApp;
}
