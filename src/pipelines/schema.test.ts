import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { pipelineJsonSchema } from './schema.js';

describe('published pipeline JSON Schema', () => {
  it('schemas/pipeline.schema.json equals the schema in the code (regenerate with: npx tsx -e "…" as in docs/pipelines.md)', () => {
    const published = JSON.parse(readFileSync(new URL('../../schemas/pipeline.schema.json', import.meta.url), 'utf8'));
    assert.deepEqual(published, JSON.parse(JSON.stringify(pipelineJsonSchema)));
  });
});
