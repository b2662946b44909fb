import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { CapstanError } from '../core/errors.js';
import { stopServices, type BackgroundService } from '../core/background-service.js';
import type { Platform } from '../platform/platform.js';
import { buildApp, type CapstanApp } from './app.js';
import { isLoopbackHost } from './request-origin-guard.js';

export { isLoopbackHost };
import { collectProcessMetrics } from './http-metrics.js';
import type { RoutePlugin } from './routes/index.js';

/** Options for starting the HTTP server; every field defaults from the platform's configuration. */
export interface ServerOptions {
  /** Bind address; default `config.server.host` (127.0.0.1). */
  host?: string;
  /** Port; default `config.server.port` (7070); 0 picks a free port. */
  port?: number;
  /** Also start every `platform.background` service, as `capstan up` does; default false. */
  background?: boolean;
  /** Log every request through the platform logger; default true. */
  logRequests?: boolean;
  /** How long shutdown lets in-flight requests finish before cutting their connections; default 10000 ms. */
  drainTimeoutMs?: number;
  /** Route plugins added after every context's (embedding, tests); default none. */
  extraPlugins?: RoutePlugin[];
}

/** A listening server and the background services started with it. */
export interface RunningServer {
  readonly app: CapstanApp;
  /** Base URL clients use, e.g. `http://127.0.0.1:7070`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Names of the background services running in this process. */
  readonly services: string[];
  /**
   * Graceful shutdown, idempotent: stop accepting connections, let in-flight requests finish (up to
   * `drainTimeoutMs`), stop background services (workers release their job leases), close the platform.
   */
  shutdown(): Promise<void>;
}


/** Throws CAPSTAN_CONFIG_INSECURE_BIND for a non-loopback bind while API keys are off. */
export function assertSafeBind(host: string, auth: boolean): void {
  if (auth || isLoopbackHost(host)) return;
  throw new CapstanError(
    'CAPSTAN_CONFIG_INSECURE_BIND',
    `refusing to listen on ${host} without API keys: turn auth on (CAPSTAN_AUTH=true or server.auth: true, then create a key with "capstan keys create --name admin --role admin") or bind 127.0.0.1`,
    { fields: { setting: 'server.host' } },
  );
}

function formatUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${isIP(shown) === 6 ? `[${shown}]` : shown}:${port}`;
}

/**
 * Starts the HTTP API on the platform (and, with `background`, every background service) and returns
 * a handle whose `shutdown()` drains everything and closes the platform.
 */
export async function startServer(platform: Platform, options: ServerOptions = {}): Promise<RunningServer> {
  const { config, logger } = platform;
  const host = options.host ?? config.server.host;
  const port = options.port ?? config.server.port;
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  assertSafeBind(host, config.server.auth);

  collectProcessMetrics(platform.metrics);
  const app = await buildApp(platform, { logRequests: options.logRequests ?? true, extraPlugins: options.extraPlugins, bindHost: host });
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'the address is not available here' : 'listen failed';
    throw new CapstanError('CAPSTAN_CONFIG_INVALID', `cannot listen on ${host}:${port}: ${why}`, { cause: err, fields: { setting: 'server.port' } });
  }
  const actualPort = (app.server.address() as AddressInfo).port;
  const url = formatUrl(host, actualPort);

  const started: BackgroundService[] = [];
  if (options.background) {
    try {
      for (const service of platform.background) {
        await service.start();
        started.push(service);
      }
    } catch (err) {
      await app.close();
      await stopServices(started, platform.logger);
      throw err;
    }
  }
  if (config.server.auth && (await platform.apiKeys.list()).every((k) => k.revokedAt !== null)) {
    logger.warn('auth is on but no active API key exists: create one with "capstan keys create --name admin --role admin"');
  }
  logger.info({ url, auth: config.server.auth, services: started.map((s) => s.name) }, 'Capstan listening');

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = () => {
    shutdownPromise ??= (async () => {
      logger.info('shutting down: draining in-flight requests');
      // app.close() stops accepting and waits for in-flight requests; a stuck client must not hold the process forever.
      const force = setTimeout(() => app.server.closeAllConnections(), drainTimeoutMs);
      force.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(force);
      }
      // The HTTP side drains first: in-flight requests may still need a background service (an endpoint host).
      await stopServices(started, platform.logger);
      await platform.close();
      logger.info('shutdown complete');
    })();
    return shutdownPromise;
  };

  return { app, url, host, port: actualPort, services: started.map((s) => s.name), shutdown };
}
