import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTestPlatform } from '../../platform/test-support/test-platform.js';
import type { Platform } from '../../platform/platform.js';
import type { ModelVersion, RegisterVersionInput, RegistryService } from '../../registry/index.js';
import { writeNcfPackage, type NcfFixture, type NcfFixtureOptions } from './ncf-package-fixture.js';

/** Registers a version and approves it, as a person would before deploying it (serving deploys only approved versions). */
export async function registerApproved(registry: RegistryService, model: string, input: RegisterVersionInput): Promise<ModelVersion> {
  const v = await registry.registerVersion(model, input);
  return registry.setApproval(model, v.version, { status: 'Approved', comment: 'approved for the test' }, { actor: 'test:reviewer' });
}

/** A test platform with a registry and helpers to register NCF-shaped packages. */
export interface ServingTestPlatform {
  platform: Platform;
  registry: RegistryService;
  /** A scratch directory removed on dispose. */
  scratch: string;
  /** Writes an NCF package, registers it as the next version of `model` (approved unless `approve: false`) and returns the fixture and version. */
  registerNcf(model?: string, options?: NcfFixtureOptions & { approve?: boolean }): Promise<{ fixture: NcfFixture; version: number }>;
  dispose(): Promise<void>;
}

/** Opens a throwaway platform for serving tests (SQLite, file artifacts, real registry, real workers). */
export async function openServingTestPlatform(flags: Record<string, unknown> = {}): Promise<ServingTestPlatform> {
  const test = await openTestPlatform(flags);
  const platform = test.platform;
  const registry = platform.registry;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'capstan-serving-'));
  let n = 0;
  return {
    platform,
    registry,
    scratch,
    async registerNcf(model = 'ncf', options = {}) {
      const fixture = writeNcfPackage(path.join(scratch, `pkg-${++n}`), options);
      const input = { packageDir: fixture.dir };
      const v = options.approve === false ? await registry!.registerVersion(model, input) : await registerApproved(registry!, model, input);
      return { fixture, version: v.version };
    },
    async dispose() {
      await test.dispose();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
