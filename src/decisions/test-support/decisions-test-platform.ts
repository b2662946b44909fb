import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { contextModules } from '../../platform/contexts.js';
import { openPlatform, type Platform } from '../../platform/platform.js';
import { registerApproved } from '../../serving/test-support/serving-test-platform.js';
import type { ContextModule } from '../../storage/context-module.js';
import type { TestDatabaseFactory } from '../../storage/test-support/test-databases.js';
import type { DecisionService } from '../decision-service.js';

/** A js model: `score = amount / 1000` capped at 1, after sleeping `sleepMs` when the row asks (timeouts). */
const SCORER = `export async function predict(m, body) {
  const rows = Array.isArray(body?.instances) ? body.instances : [body];
  const out = [];
  for (const r of rows) {
    if (r.sleepMs) await new Promise((res) => setTimeout(res, r.sleepMs));
    out.push({ score: Math.min(1, Number(r.amount ?? 0) / 1000) });
  }
  return { predictions: out };
}`;

/** A platform on a chosen database with js model endpoints deployed, for decision tests. */
export interface DecisionsTestPlatform {
  platform: Platform;
  decisions: DecisionService;
  home: string;
  dispose(): Promise<void>;
}

/** Writes a js model package and registers it approved. */
export async function registerJsModel(platform: Platform, dir: string, name: string, code: string): Promise<void> {
  const pkg = path.join(dir, `pkg-${name}`);
  mkdirSync(pkg, { recursive: true });
  writeFileSync(path.join(pkg, 'model.mjs'), code);
  writeFileSync(path.join(pkg, 'model.json'), JSON.stringify({ name, framework: 'js', entry: 'model.mjs' }));
  await registerApproved(platform.registry, name, { packageDir: pkg });
}

/** A context's migrations under another name, without its service or routes. */
function tablesOnly(m: ContextModule<any>): ContextModule<undefined> {
  return { name: `${m.name}-tables`, migrations: m.migrations, create: () => ({ service: undefined }) };
}

/** Options of `openDecisionsTestPlatform`. */
export interface DecisionsTestOptions {
  /** Contexts installed after the standard ones; default none. */
  extra?: ContextModule<any>[];
  /** Standard contexts whose service is left out by name (e.g. `features`, to see a use case refused without it; their tables stay, so later migrations apply); default none. */
  exclude?: string[];
  /** Deploys endpoint `fraud` serving the test scorer; default true. */
  scorer?: boolean;
}

/**
 * Opens a platform on a fresh database of `factory`'s dialect, by default with endpoint `fraud`
 * (the js scorer) deployed.
 */
export async function openDecisionsTestPlatform(factory: TestDatabaseFactory, flags: Record<string, unknown> = {}, options: DecisionsTestOptions = {}): Promise<DecisionsTestPlatform> {
  const extra = options.extra ?? [];
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-decisions-'));
  const db = await factory.create();
  const config = compileConfig({ flags: { home, databaseUrl: db.url, artifacts: `file://${path.join(home, 'artifacts')}`, ...flags }, env: {}, cwd: home });
  const platform = await openPlatform({ config, logger: silentLogger(), contexts: [...contextModules.map((m) => (options.exclude?.includes(m.name) ? tablesOnly(m) : m)), ...extra] });
  if (options.scorer !== false) {
    await registerJsModel(platform, home, 'fraud', SCORER);
    await platform.serving.create('fraud', { variants: [{ model: 'models:/fraud/1', timeoutMs: 5000 }] });
  }
  return {
    platform,
    decisions: platform.context<DecisionService>('decisions'),
    home,
    async dispose() {
      await platform.close();
      await db.dispose();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
