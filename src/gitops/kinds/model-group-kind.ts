import { isCapstanError } from '../../core/errors.js';
import { isValidName } from '../../core/names.js';
import { compileApprovalPolicy, type ApprovalPolicy } from '../../registry/index.js';
import { issueAt, kindDocument, stableJson, type KindAdapter, type ResourceState } from '../kind-adapter.js';
import { parseAutoDeploy, readAutoDeploy, writeAutoDeploy, type ModelGroupAutoDeploy } from './model-group-auto-deploy.js';

/** A valid ModelGroup document. */
interface ModelGroupSpec {
  name: string;
  description: string;
  tags: Record<string, string>;
  approvalPolicy: ApprovalPolicy | null;
  /** The rollouts auto-deploy policy: each approved version rolls out to its endpoint; null for none. */
  autoDeploy: ModelGroupAutoDeploy | null;
}

const FIELDS = new Set(['name', 'description', 'tags', 'approvalPolicy', 'autoDeploy']);

function state(spec: ModelGroupSpec): ResourceState {
  const document = kindDocument('ModelGroup', {
    name: spec.name,
    description: spec.description || undefined,
    tags: Object.keys(spec.tags).length ? spec.tags : undefined,
    approvalPolicy: spec.approvalPolicy ?? undefined,
    autoDeploy: spec.autoDeploy ?? undefined,
  });
  return { document, fingerprint: stableJson(spec) };
}

/**
 * `kind: ModelGroup`: a registry model group's description, tags, auto-approval policy and auto-deploy
 * policy (kept by the rollouts context, the same one `capstan models auto-deploy` sets). Deleting one
 * clears them; its versions stay (the registry keeps them immutable).
 */
export const modelGroupKind: KindAdapter<ModelGroupSpec> = {
  kind: 'ModelGroup',
  aliases: ['modelgroup', 'modelgroups', 'model', 'models'],

  validate(_ctx, doc, issues) {
    const before = issues.length;
    const b = doc.body;
    for (const k of Object.keys(b)) if (!FIELDS.has(k)) issues.push(issueAt(doc, [k], `unknown field ${k} (ModelGroup takes name, description, tags, approvalPolicy, autoDeploy)`));
    if (!isValidName(doc.name)) issues.push(issueAt(doc, ['name'], `${JSON.stringify(doc.name)} is not a valid name (a-z, 0-9, '.', '_', '-')`));
    if (b.description !== undefined && typeof b.description !== 'string') issues.push(issueAt(doc, ['description'], 'description must be a string'));
    const tags = b.tags ?? {};
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== 'string')) {
      issues.push(issueAt(doc, ['tags'], 'tags must map names to strings'));
    }
    let approvalPolicy: ApprovalPolicy | null = null;
    if (b.approvalPolicy !== undefined && b.approvalPolicy !== null) {
      try {
        approvalPolicy = compileApprovalPolicy(b.approvalPolicy);
      } catch (err) {
        if (!isCapstanError(err)) throw err;
        issues.push(issueAt(doc, ['approvalPolicy', 'autoApprove'], err.message));
      }
    }
    const autoDeploy = parseAutoDeploy(doc, b.autoDeploy, issues);
    if (issues.length > before) return undefined;
    return { name: doc.name, description: (b.description as string | undefined) ?? '', tags: tags as Record<string, string>, approvalPolicy, autoDeploy };
  },

  async desired(_ctx, spec) {
    return state(spec);
  },

  async read(ctx, name) {
    try {
      const g = await ctx.services.registry().getModel(name);
      return state({ name: g.name, description: g.description, tags: g.tags, approvalPolicy: g.approvalPolicy, autoDeploy: await readAutoDeploy(ctx, name) });
    } catch (err) {
      if (isCapstanError(err, 'CAPSTAN_REGISTRY_MODEL_NOT_FOUND')) return undefined;
      throw err;
    }
  },

  async list(ctx) {
    return (await ctx.services.registry().listModels()).map((g) => g.name);
  },

  async apply(ctx, spec) {
    const registry = ctx.services.registry();
    const before = await this.read(ctx, spec.name);
    if (before?.fingerprint === stableJson(spec)) return { changed: false };
    if (!before) await registry.createModel(spec.name, { description: spec.description, tags: spec.tags });
    else await registry.updateModel(spec.name, { description: spec.description, tags: spec.tags });
    const current = await registry.getModel(spec.name);
    if (stableJson(current.approvalPolicy) !== stableJson(spec.approvalPolicy)) await registry.setApprovalPolicy(spec.name, spec.approvalPolicy, { actor: 'system:gitops' });
    await writeAutoDeploy(ctx, spec.name, spec.autoDeploy);
    return { changed: true };
  },

  requiredRole(current, desired) {
    // Setting or clearing an auto-approval policy is an approver's decision, as on /api/v1/models/:name/approval-policy.
    const policy = (s: typeof current) => stableJson(s?.document.approvalPolicy ?? null);
    return policy(current) !== policy(desired) ? 'approver' : undefined;
  },

  async delete(ctx, name) {
    const registry = ctx.services.registry();
    await registry.getModel(name);
    await registry.setApprovalPolicy(name, null, { actor: 'system:gitops' });
    await registry.updateModel(name, { description: '', tags: {} });
    await writeAutoDeploy(ctx, name, null);
  },
};
