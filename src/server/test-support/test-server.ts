import { openPlatformAt, openTestPlatform } from '../../platform/test-support/test-platform.js';
import type { Platform } from '../../platform/platform.js';
import { startServer, type RunningServer, type ServerOptions } from '../server.js';

/** A server on a throwaway platform, for tests that drive the CLI or SDK with `--url`. */
export interface TestServer {
  platform: Platform;
  server: RunningServer;
  /** The base URL to pass as `--url`. */
  url: string;
  /** The platform's home directory, removed on dispose unless the caller passed it. */
  home: string;
  /** Shuts the server down (closing the platform) and removes a home it made. */
  dispose(): Promise<void>;
}

/** `startServer` options plus where the platform lives. */
export interface TestServerOptions extends ServerOptions {
  /** Serve this existing home (one a test filled through the CLI) and keep it on dispose; default a new throwaway home. */
  home?: string;
}

/**
 * Opens a test platform (`flags` as in `openTestPlatform`) and serves it on a free loopback port;
 * `options` go to `startServer` (default: no request log, no background services).
 */
export async function startTestServer(flags: Record<string, unknown> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const { home: given, ...serverOptions } = options;
  const t = given
    ? { platform: await openPlatformAt(given, { ...flags, 'server.port': 0 }), home: given, dispose: async () => {} }
    : await openTestPlatform({ ...flags, 'server.port': 0 });
  let server: RunningServer;
  try {
    server = await startServer(t.platform, { logRequests: false, ...serverOptions });
  } catch (err) {
    await t.platform.close();
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
