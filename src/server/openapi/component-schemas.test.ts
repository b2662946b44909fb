import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from 'typebox';
import { ModelVersionSchema } from '../../registry/index.js';
import { componentNameOf, componentSchemas, nameComponents } from './component-schemas.js';

describe('component naming', () => {
  it('recognises a component by value, whether the same object or an equal copy', () => {
    assert.equal(componentNameOf(ModelVersionSchema), 'ModelVersion');
    assert.equal(componentNameOf(structuredClone(ModelVersionSchema)), 'ModelVersion');
    assert.equal(componentNameOf(Type.Object({ other: Type.String() })), undefined);
  });

  it('replaces nested components by references and leaves examples and other schemas as they are', () => {
    const example = { name: 'ncf' };
    const schema = Type.Object({ versions: Type.Array(ModelVersionSchema), note: Type.String() }, { examples: [example] });
    assert.deepEqual(nameComponents(schema), {
      type: 'object',
      required: ['versions', 'note'],
      properties: { versions: { type: 'array', items: { $ref: 'ModelVersion#' } }, note: { type: 'string' } },
      examples: [example],
    });
  });

  it('does not replace a component by a reference to itself, only its nested components', () => {
    const named = nameComponents(componentSchemas.ModelVersion, 'ModelVersion') as { properties: Record<string, unknown> };
    assert.deepEqual(named.properties.lineage, { $ref: 'Lineage#' });
    assert.deepEqual(named.properties.approval, { $ref: 'ApprovalStatus#' });
    assert.deepEqual(named.properties.name, { type: 'string' });
  });
});
