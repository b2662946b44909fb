import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Platform } from '../../platform/platform.js';
import { registerApproved } from './serving-test-platform.js';

/** A js model that answers `{sum: a + b}`: the cheapest real model, for tests about what surrounds a call. */
export const ADDER_MODEL = 'export function predict(model, input) { return { sum: input.a + input.b }; }\n';

/** Writes the adder package under `dir`, registers and approves it as `name` version 1 and serves it from endpoint `name`. */
export async function deployAdder(platform: Platform, dir: string, name = 'adder'): Promise<void> {
  const pkg = path.join(dir, name);
  mkdirSync(pkg, { recursive: true });
  writeFileSync(path.join(pkg, 'model.mjs'), ADDER_MODEL);
  writeFileSync(path.join(pkg, 'model.json'), JSON.stringify({ name, framework: 'js', entry: 'model.mjs' }));
  await registerApproved(platform.registry, name, { packageDir: pkg });
  await platform.serving.create(name, { variants: [{ model: `models:/${name}/1` }] });
}
