import { isCapstanError } from '../../core/errors.js';
import { compileEntity, type FeatureDefinitionDeletion, type FeatureEntity, type FeatureService } from '../../features/index.js';
import { issueAt, kindDocument, stableJson, type KindAdapter, type KindContext, type ResourceState } from '../kind-adapter.js';

/** A valid Entity document, as the feature store validates it. */
type EntitySpec = ReturnType<typeof compileEntity>;

const svc = (ctx: KindContext) => ctx.services.use<FeatureService & FeatureDefinitionDeletion>('features');

function state(e: Pick<FeatureEntity, 'name' | 'joinKeys' | 'description'>): ResourceState {
  const joinKeys = e.joinKeys.map((k) => ({ name: k.name, type: k.type, ...(k.description ? { description: k.description } : {}) }));
  return { document: kindDocument('Entity', { name: e.name, description: e.description || undefined, joinKeys }), fingerprint: stableJson({ joinKeys, description: e.description }) };
}

/** `kind: Entity`: a feature store entity and its typed join keys (docs/features.md); deleting one that a group uses is refused. */
export const entityKind: KindAdapter<EntitySpec> = {
  kind: 'Entity',
  aliases: ['entity', 'entities'],

  validate(_ctx, doc, issues) {
    try {
      return compileEntity(doc.body, 'Entity');
    } catch (err) {
      if (!isCapstanError(err)) throw err;
      issues.push(issueAt(doc, [], err.message));
      return undefined;
    }
  },

  async desired(_ctx, spec) {
    return state(spec);
  },

  async read(ctx, name) {
    const e = (await svc(ctx).listEntities()).find((x) => x.name === name);
    return e && state(e);
  },

  async list(ctx) {
    return (await svc(ctx).listEntities()).map((e) => e.name);
  },

  async apply(ctx, spec) {
    const r = await svc(ctx).apply({ entities: [{ name: spec.name, joinKeys: spec.joinKeys, description: spec.description }] });
    return { changed: r.entities.some((e) => e.action !== 'unchanged') };
  },

  async delete(ctx, name) {
    await svc(ctx).deleteEntity(name);
  },
};
