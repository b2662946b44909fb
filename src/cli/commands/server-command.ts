import type { Command } from 'commander';
import { createLogger } from '../../core/logger.js';
import { allOptions, configFrom, printResult } from '../cli-context.js';
import { shutdownSignal } from '../shutdown-signal.js';

interface ServeFlags {
  host?: string;
  port?: string;
  auth?: boolean;
  logFormat?: string;
}

/** Runs the API server, with or without the background services, until SIGINT/SIGTERM. */
async function serve(cmd: Command, background: boolean): Promise<void> {
  const o = allOptions<ServeFlags>(cmd);
  const flags: Record<string, unknown> = {};
  if (o.host !== undefined) flags['server.host'] = o.host;
  if (o.port !== undefined) flags['server.port'] = o.port;
  if (o.auth !== undefined) flags['server.auth'] = o.auth;
  if (o.logFormat !== undefined) flags.logFormat = o.logFormat;
  const config = configFrom(cmd, flags);
  // Loaded on demand so `capstan --help` and light commands do not pay for every context's dependencies.
  const { openPlatform } = await import('../../platform/platform.js');
  const { startServer } = await import('../../server/server.js');
  const platform = await openPlatform({ config, logger: createLogger({ level: config.logLevel, format: config.logFormat }) });
  let server;
  try {
    server = await startServer(platform, { background });
  } catch (err) {
    await platform.close();
    throw err;
  }
  const urls = {
    url: server.url,
    console: `${server.url}/console/`,
    docs: `${server.url}/docs`,
    openapi: `${server.url}/openapi.json`,
    metrics: `${server.url}/metrics`,
    health: `${server.url}/healthz`,
    auth: config.server.auth,
    database: platform.db.displayUrl,
    services: server.services,
  };
  printResult(cmd, urls, () =>
    [
      `Capstan is running (${background ? 'API and background services' : 'API only'}) — Ctrl-C to stop`,
      `  Console   ${urls.console}`,
      `  API       ${urls.url}/api/v1`,
      `  Docs      ${urls.docs}`,
      `  OpenAPI   ${urls.openapi}`,
      `  Metrics   ${urls.metrics}`,
      `  Health    ${urls.health}`,
      `  Auth      ${urls.auth ? 'API keys required' : 'off (loopback only)'}`,
      `  Database  ${urls.database}`,
      ...(background ? [`  Services  ${urls.services.length ? urls.services.join(', ') : '(none registered)'}`] : []),
    ].join('\n'),
  );
  const signal = await shutdownSignal();
  platform.logger.info({ signal }, 'signal received');
  await server.shutdown();
  platform.logger.flush();
  // Everything Capstan opened is closed now; a handle some library left behind must not keep the process alive.
  setTimeout(() => {
    process.stderr.write('shutdown finished but open handles remained; exiting\n');
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  }, 5000).unref();
}

function serveOptions(cmd: Command): Command {
  return cmd
    .option('--host <address>', 'bind address; env CAPSTAN_HOST (default 127.0.0.1)')
    .option('--port <port>', 'port, 0 for any free one; env CAPSTAN_PORT (default 7070)')
    .option('--auth', 'require API keys; env CAPSTAN_AUTH')
    .option('--log-format <format>', 'json, pretty or auto (pretty on a terminal, json otherwise); env CAPSTAN_LOG_FORMAT (default auto)')
    .option('--json', 'print the URLs as JSON');
}

/** `capstan up` (API + workers + scheduler in one process) and `capstan server` (API only). */
export function serverCommands(program: Command): void {
  serveOptions(program.command('up').description('run the API server and every background service (workers, scheduler) in one process')).action(
    async (_opts, cmd: Command) => serve(cmd, true),
  );
  serveOptions(program.command('server').description('run the API server only')).action(async (_opts, cmd: Command) => serve(cmd, false));
}
