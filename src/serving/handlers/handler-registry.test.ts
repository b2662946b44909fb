import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

describe("serving's handler registry", () => {
  it('lives apart from the algorithms: no serving module imports src/algorithms', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const offenders = (readdirSync(root, { recursive: true }) as string[])
      // Test support may build fixtures with an algorithm's tools; the context itself may not.
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('test-support'))
      .filter((f) => /from '(\.\.\/)+algorithms\//.test(readFileSync(path.join(root, f), 'utf8')));
    assert.deepEqual(offenders, []);
  });
});
