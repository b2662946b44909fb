import { openTestPlatform } from '../../platform/test-support/test-platform.js';
import type { Platform } from '../../platform/platform.js';
import { startServer, type RunningServer, type ServerOptions } from '../server.js';

/** A server on a throwaway platform, for tests that drive the CLI or SDK with `--url`. */
export interface TestServer {
  platform: Platform;
  server: RunningServer;
  /** The base URL to pass as `--url`. */
  url: string;
  /** The platform's home directory, removed on dispose. */
  home: string;
  /** Shuts the server down (closing the platform) and removes the home. */
  dispose(): Promise<void>;
}

/**
 * Opens a test platform (`flags` as in `openTestPlatform`) and serves it on a free loopback port;
 * `options` go to `startServer` (default: no request log, no background services).
 */
export async function startTestServer(flags: Record<string, unknown> = {}, options: ServerOptions = {}): Promise<TestServer> {
  const t = await openTestPlatform({ ...flags, 'server.port': 0 });
  let server: RunningServer;
  try {
    server = await startServer(t.platform, { logRequests: false, ...options });
  } catch (err) {
    await t.dispose();
    throw err;
  }
  return {
    platform: t.platform,
    server,
    url: server.url,
    home: t.home,
    async dispose() {
      await server.shutdown();
      await t.dispose();
    },
  };
}
