import { isCapstanError } from '../../core/errors.js';
import { isValidName } from '../../core/names.js';
import { compileDeploymentPolicy, DEPLOYMENT_POLICY_FIELDS, type DeploymentPolicyInput, type RolloutService } from '../../rollouts/index.js';
import type { ResourceDocument, ResourceIssue } from '../resource-document.js';
import { issueAt, parseFieldPath, stableJson, type KindContext } from '../kind-adapter.js';

/**
 * A ModelGroup's `autoDeploy`: the rollouts context's auto-deploy policy written flat, `{ endpoint,
 * <DeploymentPolicyInput fields>, supersede }`. `strategy` defaults to `all-at-once` and `supersede` to
 * true (shown only when false), so a document and the stored policy compare field by field.
 */
export type ModelGroupAutoDeploy = { endpoint: string; supersede?: false } & DeploymentPolicyInput;

const FIELDS = new Set<string>(['endpoint', 'supersede', ...DEPLOYMENT_POLICY_FIELDS]);
const USAGE = `autoDeploy takes endpoint (required), supersede and the deployment policy fields ${DEPLOYMENT_POLICY_FIELDS.join(', ')}`;

const rollouts = (ctx: KindContext) => ctx.services.use<RolloutService>('rollouts');

/** The canonical form: policy fields as given, `strategy` filled in, `supersede` only when false. */
function canonical(endpoint: string, policy: DeploymentPolicyInput, supersede: boolean): ModelGroupAutoDeploy {
  const { strategy, ...rest } = policy;
  return { endpoint, strategy: strategy ?? 'all-at-once', ...rest, ...(supersede ? {} : { supersede: false as const }) };
}

/** Validates `autoDeploy` the way the rollouts context will (names, strategy ranges, alarms compile), adding located issues. */
export function parseAutoDeploy(doc: ResourceDocument, raw: unknown, issues: ResourceIssue[]): ModelGroupAutoDeploy | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    issues.push(issueAt(doc, ['autoDeploy'], `autoDeploy must be an object: ${USAGE}`));
    return null;
  }
  const a = raw as Record<string, unknown>;
  const before = issues.length;
  for (const k of Object.keys(a)) if (!FIELDS.has(k)) issues.push(issueAt(doc, ['autoDeploy', k], `unknown field ${k} (${USAGE})`));
  if (!isValidName(a.endpoint)) issues.push(issueAt(doc, ['autoDeploy', 'endpoint'], `endpoint must be an endpoint name (a-z, 0-9, '.', '_', '-'): each approved version is deployed there`));
  if (a.supersede !== undefined && typeof a.supersede !== 'boolean') issues.push(issueAt(doc, ['autoDeploy', 'supersede'], 'supersede must be true or false'));
  if (issues.length > before) return null;
  const { endpoint, supersede, ...rest } = a;
  const policy = { ...rest, strategy: rest.strategy ?? 'all-at-once' } as DeploymentPolicyInput;
  try {
    compileDeploymentPolicy(policy);
  } catch (err) {
    if (!isCapstanError(err)) throw err;
    // A CEL alarm's error names its field only in the message (`alarms[0].expression is not valid CEL: …`).
    const field = typeof err.fields?.field === 'string' ? err.fields.field : /^alarms\[\d+\]\.\w+/.exec(err.message)?.[0];
    issues.push(issueAt(doc, ['autoDeploy', ...(field ? parseFieldPath(field) : [])], err.message));
    return null;
  }
  return canonical(endpoint as string, policy, supersede !== false);
}

/**
 * The group's stored auto-deploy policy in its document form, or null when it has none (or the platform
 * has no rollouts context, so model groups still read; writing a policy there answers CAPSTAN_CONFIG_CONTEXT_MISSING).
 */
export async function readAutoDeploy(ctx: KindContext, group: string): Promise<ModelGroupAutoDeploy | null> {
  try {
    const p = await rollouts(ctx).getAutoDeploy(group);
    return canonical(p.endpoint, p.policy, p.supersede);
  } catch (err) {
    if (isCapstanError(err, 'CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND') || isCapstanError(err, 'CAPSTAN_CONFIG_CONTEXT_MISSING')) return null;
    throw err;
  }
}

/** Stores (or with null removes) the group's policy through the rollouts context, when it differs from the stored one. */
export async function writeAutoDeploy(ctx: KindContext, group: string, desired: ModelGroupAutoDeploy | null): Promise<void> {
  const current = await readAutoDeploy(ctx, group);
  if (stableJson(current) === stableJson(desired)) return;
  if (!desired) {
    await rollouts(ctx).removeAutoDeploy(group);
    return;
  }
  const { endpoint, supersede, ...policy } = desired;
  await rollouts(ctx).setAutoDeploy(group, { endpoint, policy, supersede: supersede !== false }, { actor: 'system:gitops' });
}
