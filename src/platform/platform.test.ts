import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { openPlatform } from './platform.js';

describe('openPlatform', () => {
  it('creates a new home directory owner-only (0700), with the database 0600 inside', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'capstan-home-mode-'));
    try {
      const home = path.join(root, 'home');
      const platform = await openPlatform({ config: compileConfig({ flags: { home }, env: {}, cwd: root }), logger: silentLogger() });
      await platform.close();
      assert.equal(statSync(home).mode & 0o777, 0o700);
      assert.equal(statSync(path.join(home, 'capstan.db')).mode & 0o777, 0o600);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
