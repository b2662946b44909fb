// The API server the decisions benchmark drives: `capstan server` on the given home with every
// standard context (the features context included). Prints {"url"} when listening.
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { contextModules } from '../src/platform/contexts.js';
import { openPlatform } from '../src/platform/platform.js';
import { startServer } from '../src/server/server.js';

const home = process.argv[2];
const platform = await openPlatform({ config: compileConfig({ flags: { home }, env: {}, cwd: home }), logger: silentLogger(), contexts: contextModules });
const server = await startServer(platform, { port: 0, logRequests: false });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const stop = async () => {
  await server.shutdown();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
