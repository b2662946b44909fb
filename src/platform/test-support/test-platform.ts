import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { openPlatform, type Platform, type PlatformOptions } from '../platform.js';

/** A platform on a throwaway home directory (SQLite, file artifacts) and its cleanup. */
export interface TestPlatform {
  platform: Platform;
  home: string;
  /** Closes the platform and removes its home directory. */
  dispose(): Promise<void>;
}

/**
 * Opens a platform for one test, isolated from the caller's environment and `capstan.yaml`:
 * `flags` are dotted settings (`{ 'server.auth': true }`), `options.contexts` replaces the installed
 * contexts (default all), everything else is a default.
 */
export async function openTestPlatform(flags: Record<string, unknown> = {}, options: Pick<PlatformOptions, 'contexts'> = {}): Promise<TestPlatform> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-test-'));
  const config = compileConfig({ flags: { home, ...flags }, env: {}, cwd: home });
  const platform = await openPlatform({ config, logger: silentLogger(), ...options });
  return {
    platform,
    home,
    async dispose() {
      await platform.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * Opens a platform on an existing home (one a CLI run filled) for a test to inspect, isolated like
 * `openTestPlatform` from the environment and from any `capstan.yaml` in the working directory.
 */
export function openPlatformAt(home: string, flags: Record<string, unknown> = {}): Promise<Platform> {
  return openPlatform({ config: compileConfig({ flags: { home, ...flags }, env: {}, cwd: home }), logger: silentLogger() });
}
