import { isCapstanError } from '../../core/errors.js';
import { isValidName } from '../../core/names.js';
import { compileEndpointConfig, type EndpointConfig, type EndpointConfigInput } from '../../serving/index.js';
import { issueAt, kindDocument, parseFieldPath, stableJson, type KindAdapter, type ResourceState } from '../kind-adapter.js';

/** A valid Endpoint document: its name and compiled configuration. */
interface EndpointSpec {
  name: string;
  config: EndpointConfig;
}

const FIELDS = new Set(['name', 'variants', 'dataCapture', 'trafficPolicy']);

function state(spec: EndpointSpec): ResourceState {
  return { document: kindDocument('Endpoint', { name: spec.name, ...spec.config }), fingerprint: stableJson(spec.config) };
}

/** The model group a variant's reference names (`models:/fraud/3`, `models:/fraud@champion`, `fraud/3`). */
function groupOf(ref: string): string {
  return ref.replace(/^models:\//, '').split(/[/@]/)[0];
}

/** `kind: Endpoint`: a real-time endpoint's variants (single-model, or `multiModel:` blocks), data capture and traffic policy (docs/serving.md); single-model versions must exist at plan. */
export const endpointKind: KindAdapter<EndpointSpec> = {
  kind: 'Endpoint',
  aliases: ['endpoint', 'endpoints'],

  validate(_ctx, doc, issues) {
    const before = issues.length;
    for (const k of Object.keys(doc.body)) if (!FIELDS.has(k)) issues.push(issueAt(doc, [k], `unknown field ${k} (Endpoint takes name, variants, dataCapture, trafficPolicy)`));
    if (!isValidName(doc.name)) issues.push(issueAt(doc, ['name'], `${JSON.stringify(doc.name)} is not a valid name (a-z, 0-9, '.', '_', '-')`));
    let config: EndpointConfig | undefined;
    try {
      config = compileEndpointConfig(doc.body as unknown as EndpointConfigInput);
    } catch (err) {
      if (!isCapstanError(err, 'CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID')) throw err;
      const field = typeof err.fields?.field === 'string' ? err.fields.field : '';
      issues.push(issueAt(doc, parseFieldPath(field), err.message));
    }
    return issues.length > before || !config ? undefined : { name: doc.name, config };
  },

  async checkReferences(ctx, spec, doc) {
    const issues = [];
    // A pipeline variant's model is its first model stage's, so its stages are checked instead; a
    // multi-model variant's models resolve per request (an unknown one answers 404 then), so none is checked.
    const refs = spec.config.variants.flatMap((v, i) =>
      v.pipeline ? v.pipeline.flatMap((s, j) => (s.model ? [{ ref: s.model, at: ['variants', i, 'pipeline', j, 'model'] }] : [])) : v.url || v.multiModel ? [] : [{ ref: v.model, at: ['variants', i, 'model'] }],
    );
    for (const { ref, at } of refs) {
      try {
        await ctx.services.registry().resolve(ref);
      } catch (err) {
        if (!isCapstanError(err)) throw err;
        const declared = ctx.declared.has(`ModelGroup/${groupOf(ref)}`) ? ' (the ModelGroup is declared here but has no such version yet)' : '';
        issues.push(issueAt(doc, at, `model ${ref} does not exist${declared}: ${err.message}`));
      }
    }
    return issues;
  },

  async desired(_ctx, spec) {
    return state(spec);
  },

  async read(ctx, name) {
    try {
      const e = await ctx.services.serving().describe(name);
      // Pinned versions (the variant's and its pipeline stages') are the server's, not the document's.
      const variants = e.variants.map(({ resolved: _r, live: _l, ...v }) => (v.pipeline ? { ...v, pipeline: v.pipeline.map(({ resolved: _s, ...stage }) => stage) } : v));
      return state({ name, config: { variants, dataCapture: e.dataCapture, trafficPolicy: e.trafficPolicy } });
    } catch (err) {
      if (isCapstanError(err, 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND')) return undefined;
      throw err;
    }
  },

  async list(ctx) {
    return (await ctx.services.serving().list()).map((e) => e.name);
  },

  async apply(ctx, spec) {
    const serving = ctx.services.serving();
    const before = await this.read(ctx, spec.name);
    if (before?.fingerprint === stableJson(spec.config)) return { changed: false };
    const input = { variants: spec.config.variants, dataCapture: spec.config.dataCapture, trafficPolicy: spec.config.trafficPolicy };
    if (before) await serving.update(spec.name, input, { actor: 'system:gitops' });
    else await serving.create(spec.name, input, { actor: 'system:gitops' });
    return { changed: true };
  },

  async delete(ctx, name) {
    await ctx.services.serving().delete(name, { actor: 'system:gitops' });
  },
};
