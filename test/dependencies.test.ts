import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// semver comes with npm's own toolchain in node_modules; loaded untyped, only to read engine ranges.
const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean };
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: unknown } }> };

describe('dependencies', () => {
  // Node 20.19 is the oldest Node 20 the dev toolchain (eslint, typescript-eslint) accepts; 24 is the newest LTS.
  for (const node of ['20.19.0', '24.0.0']) {
    it(`installs on Node ${node} without an engine warning: every locked package's engines.node admits it`, () => {
      const refusing = Object.entries(lock.packages)
        .filter(([, p]) => typeof p.engines?.node === 'string' && !semver.satisfies(node, p.engines.node as string))
        .map(([where, p]) => `${where.replace(/^.*node_modules\//, '')}@${p.version} (node ${p.engines!.node})`);
      assert.deepEqual(refusing, []);
    });
  }
});
