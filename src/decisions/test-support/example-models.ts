import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Platform } from '../../platform/platform.js';
import { writeNcfPackage, type NcfFixture } from '../../serving/test-support/ncf-package-fixture.js';
import { registerApproved } from '../../serving/test-support/serving-test-platform.js';

/** examples/decisions in this checkout. */
export const EXAMPLES_DIR = fileURLToPath(new URL('../../../examples/decisions/', import.meta.url));

/**
 * Registers and deploys what the decision examples call: every model package shipped under
 * examples/decisions/models (an endpoint of the same name each) and an NCF endpoint `ncf` (what
 * `capstan demo` deploys; here a small generated package so no training runs).
 */
export async function deployExampleModels(platform: Platform, scratch: string): Promise<{ ncf: NcfFixture }> {
  const models = path.join(EXAMPLES_DIR, 'models');
  for (const name of readdirSync(models)) {
    await registerApproved(platform.registry, name, { packageDir: path.join(models, name) });
    await platform.serving.create(name, { variants: [{ model: `models:/${name}/1` }] });
  }
  const ncf = writeNcfPackage(path.join(scratch, 'ncf'), { users: 20, items: 60 });
  await registerApproved(platform.registry, 'ncf', { packageDir: ncf.dir });
  await platform.serving.create('ncf', { variants: [{ model: 'models:/ncf/1' }] });
  return { ncf };
}
