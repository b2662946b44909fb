import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { LightMyRequestResponse } from 'fastify';
import path from 'node:path';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import type { TestDatabaseFactory } from '../src/storage/test-support/test-databases.js';

/** A platform on one test database with its HTTP app, for the hosting-pattern tests (pipelines, autoscaling). */
export interface HostingHarness {
  platform: Platform;
  app: CapstanApp;
  dir: string;
  /** Writes a js package from module source and registers it, approved, as the next version of `name`. */
  registerJs(name: string, source: string, manifest?: Record<string, unknown>): Promise<number>;
  /** POSTs a JSON body to an endpoint's invocation route. */
  invoke(endpoint: string, body: unknown): Promise<LightMyRequestResponse>;
  dispose(): Promise<void>;
}

/** Opens a platform (home and artifacts in a temp dir) on a fresh database of `factory`. */
export async function openHostingHarness(factory: TestDatabaseFactory): Promise<HostingHarness> {
  const db = await factory.create();
  await db.db.close();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-hosting-'));
  const platform = await openPlatform({ config: compileConfig({ flags: { home: path.join(dir, 'home'), databaseUrl: db.url }, env: {}, cwd: dir }), logger: silentLogger() });
  const app = await buildApp(platform);
  let n = 0;
  return {
    platform,
    app,
    dir,
    async registerJs(name, source, manifest = {}) {
      const pkg = path.join(dir, `pkg-${++n}`);
      mkdirSync(pkg, { recursive: true });
      writeFileSync(path.join(pkg, 'model.mjs'), source);
      writeFileSync(path.join(pkg, 'model.json'), JSON.stringify({ name, framework: 'js', entry: 'model.mjs', ...manifest }));
      return (await registerApproved(platform.registry, name, { packageDir: pkg })).version;
    },
    invoke: (endpoint, body) => app.inject({ method: 'POST', url: `/endpoints/${endpoint}/invocations`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) }),
    async dispose() {
      await app.close();
      await platform.close();
      await db.dispose().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns true (the state converges; no timing is asserted). */
export async function until(what: string, probe: () => Promise<boolean> | boolean, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting: ${what}`);
}
