import { isCapstanError } from '../../core/errors.js';
import { compileUseCase, type DecisionService, type UseCaseDefinition } from '../../decisions/index.js';
import { issueAt, kindDocument, stableJson, type KindAdapter, type KindContext, type ResourceState } from '../kind-adapter.js';

const svc = (ctx: KindContext) => ctx.services.use<DecisionService>('decisions');

function state(definition: UseCaseDefinition): ResourceState {
  // The alert webhook secret is never shown back, so it counts masked on both sides.
  const shown = definition.alerts?.webhookSecret ? { ...definition, alerts: { ...definition.alerts, webhookSecret: '***' } } : definition;
  const { name, ...fields } = shown;
  return { document: kindDocument('UseCase', { name, ...fields }), fingerprint: stableJson(shown) };
}

/**
 * `kind: UseCase`: a decision use case (docs/decisions.md), the document being the definition itself.
 * Applying a changed one stores its next version and makes it active; deleting one retires it (no
 * active version; its versions and decision records stay for audit and replay).
 */
export const useCaseKind: KindAdapter<UseCaseDefinition> = {
  kind: 'UseCase',
  aliases: ['usecase', 'usecases', 'use-case', 'use-cases'],

  validate(_ctx, doc, issues) {
    try {
      return compileUseCase(doc.body).definition;
    } catch (err) {
      if (!isCapstanError(err)) throw err;
      const problems = (err.fields.problems as string[] | undefined) ?? [err.message];
      for (const p of problems) issues.push(issueAt(doc, [], p));
      return undefined;
    }
  },

  async desired(_ctx, spec) {
    return state(spec);
  },

  async read(ctx, name) {
    const summary = (await svc(ctx).useCases()).find((u) => u.name === name);
    if (!summary || summary.activeVersion === null) return undefined;
    return state((await svc(ctx).describe(name, summary.activeVersion)).definition);
  },

  async list(ctx) {
    return (await svc(ctx).useCases()).filter((u) => u.activeVersion !== null).map((u) => u.name);
  },

  async apply(ctx, spec) {
    const before = (await svc(ctx).useCases()).find((u) => u.name === spec.name);
    const r = await svc(ctx).apply(spec, { activate: true, actor: 'gitops' });
    return { changed: r.created || before?.activeVersion !== r.version };
  },

  async delete(ctx, name) {
    await svc(ctx).activate(name, null);
  },
};
