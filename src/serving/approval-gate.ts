import { CapstanError } from '../core/errors.js';
import type { ApprovalStatus } from '../registry/index.js';
import type { ApprovalOverride, StoredVariant } from './endpoint.js';

/** How many override records an endpoint keeps (the oldest drop off). */
const MAX_OVERRIDES = 50;

/** Asks the registry for a version's approval as it is now. */
export type ApprovalLookup = (model: { name: string; version: number }) => Promise<ApprovalStatus>;

/** The override of the gate: who asked for it and why; only admins may ask (the API checks the role). */
export interface UnapprovedDeploy {
  actor: string;
  reason: string;
}

/** The versions a variant serves: its model and, for a pipeline, every model stage's (named `variant/stage`). */
function modelsOf(v: StoredVariant): { name: string; resolved: StoredVariant['resolved'] }[] {
  const stages = (v.pipeline ?? []).flatMap((s) => (s.resolved ? [{ name: `${v.name}/${s.name}`, resolved: s.resolved }] : []));
  return [{ name: v.name, resolved: v.resolved }, ...stages];
}

/**
 * The one approval gate of serving: every variant of a new configuration whose version the endpoint
 * does not already serve must be `Approved` in the registry, whichever path (create, update, deploy,
 * the pipelines' deploy step) brought it. With an override, the unapproved versions are let through
 * and one record per version is returned for the endpoint's audit trail.
 */
export async function checkApprovals(
  endpoint: string,
  next: readonly StoredVariant[],
  current: readonly StoredVariant[],
  approvalOf: ApprovalLookup,
  override: UnapprovedDeploy | undefined,
): Promise<ApprovalOverride[]> {
  const served = new Set(current.flatMap(modelsOf).map((v) => `${v.resolved.name}/${v.resolved.version}`));
  const seen = new Set<string>();
  const records: ApprovalOverride[] = [];
  for (const v of next.flatMap(modelsOf)) {
    const id = `${v.resolved.name}/${v.resolved.version}`;
    // A version already served stays: weight changes and re-listing a variant introduce nothing.
    if (served.has(id) || seen.has(id)) continue;
    seen.add(id);
    const approval = await approvalOf(v.resolved);
    if (approval === 'Approved') continue;
    if (!override) {
      throw new CapstanError(
        'CAPSTAN_SERVING_MODEL_NOT_APPROVED',
        `model ${id} is ${approval}; only Approved versions are served (approve it: capstan models approve ${v.resolved.name} ${v.resolved.version})`,
        { fields: { endpoint, modelName: v.resolved.name, version: v.resolved.version, approval } },
      );
    }
    records.push({ model: v.resolved.name, version: v.resolved.version, approval, variant: v.name, actor: override.actor, reason: override.reason, at: new Date().toISOString() });
  }
  return records;
}

/** Appends new override records to an endpoint's trail, keeping the newest. */
export function appendOverrides(trail: readonly ApprovalOverride[] | undefined, added: readonly ApprovalOverride[]): ApprovalOverride[] {
  return [...(trail ?? []), ...added].slice(-MAX_OVERRIDES);
}

/** Checks the reason an override carries: some text, at most 500 characters. */
export function overrideReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500) {
    throw new CapstanError('CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID', 'deploying an unapproved version needs a reason of 1 to 500 characters', { fields: { field: 'allowUnapproved.reason' } });
  }
  return reason.trim();
}
