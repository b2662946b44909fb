import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keyValues } from './cli-context.js';

describe('keyValues', () => {
  it('writes a nested map (a version lineage with dataset digests) as dotted keys, never [object Object]', () => {
    const lineage = { runId: 'run_1', datasetDigests: { 'prepare.dataset': 'sha256:ab' }, empty: {}, tags: ['a', 'b'] };
    assert.equal(keyValues(lineage), 'runId=run_1 datasetDigests.prepare.dataset=sha256:ab tags=a,b');
  });

  it('writes a flat map as k=v pairs', () => {
    assert.equal(keyValues({ 'hr@10': 0.5, epochs: 3 }), 'hr@10=0.5 epochs=3');
  });
});
