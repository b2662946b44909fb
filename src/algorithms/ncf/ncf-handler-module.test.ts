import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isCapstanError } from '../../core/errors.js';
import { builtinHandlerModules, loadHandler, registerBuiltinHandler } from '../../serving/handlers/handler-registry.js';
import { readManifest } from '../../core/model-manifest.js';
import { writeNcfPackage } from '../../serving/test-support/ncf-package-fixture.js';
import { ncfRankingHandlerModule } from './ncf-handler-module.js';

describe('the NCF ranking handler module', () => {
  it('has no algorithm handler of its own: builtin:ncf-ranking is unknown until the composition root registers it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-handlers-'));
    try {
      const fixture = writeNcfPackage(path.join(dir, 'pkg'));
      const ctx = { dir: fixture.dir, manifest: readManifest(fixture.dir), options: {}, inputNames: ['user', 'item'], outputNames: ['score'] };
      if (!('ncf-ranking' in builtinHandlerModules())) {
        await assert.rejects(loadHandler(ctx), (err) => isCapstanError(err, 'CAPSTAN_SERVING_MODEL_PACKAGE_INVALID') && /unknown handler builtin:ncf-ranking/.test(err.message));
      }
      registerBuiltinHandler('ncf-ranking', ncfRankingHandlerModule);
      assert.equal(builtinHandlerModules()['ncf-ranking'], ncfRankingHandlerModule);
      const handler = await loadHandler(ctx);
      const prepared = handler.preprocess({ body: JSON.stringify({ user: fixture.userIds[0], k: 2 }), contentType: 'application/json' });
      assert.ok('feeds' in prepared, 'the NCF handler prepared model feeds');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

});
