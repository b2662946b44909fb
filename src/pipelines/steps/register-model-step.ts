import { CapstanError } from '../../core/errors.js';
import type { RegisterModelStep } from '../definition.js';
import type { ExecutionTrigger } from '../execution.js';
import { ancestors } from '../graph.js';
import { resolveValue } from '../references.js';
import { emptyOutcome, type StepHandler, type StepServices } from './step-handler.js';

/** Numeric leaves of a property document, as `a.b` paths (`{metrics: {auc: 0.9}}` → `auc` from `metrics`). */
function numericLeaves(value: unknown, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
    else if (v && typeof v === 'object') Object.assign(out, numericLeaves(v, key));
  }
  return out;
}

/** The repository and commit of an execution a repository sync started (trigger type `git`). */
function gitLineage(trigger: ExecutionTrigger): { repository?: string; commit?: string } {
  if (trigger.type !== 'git') return {};
  const d = trigger.detail ?? {};
  return { repository: typeof d.repository === 'string' ? d.repository : undefined, commit: typeof d.commit === 'string' ? d.commit : undefined };
}

/**
 * register-model: registers the next version of a model group from the step's model data, with
 * the metrics of the chosen upstream steps (log metrics and numeric property values), the
 * execution's parameters and the training hyperparameters, and lineage back to the execution.
 */
export const runRegisterModelStep: StepHandler = async (inv, services) => {
  const step = inv.step as RegisterModelStep;
  const registry = services.registry?.();
  if (!registry) {
    throw new CapstanError('CAPSTAN_PIPELINE_REGISTRY_MISSING', `step "${step.name}" cannot register model "${step.model}": no model registry is installed`, { retryable: false });
  }
  const upstream = step.metricsFrom ?? [...ancestors(inv.graph.dependencies, step.name)];
  const order = inv.work.definition.steps.map((s) => s.name).filter((n) => upstream.includes(n));
  const metrics: Record<string, number> = {};
  const params: Record<string, string | number | boolean> = {};
  const datasetDigests: Record<string, string> = {};
  let runId: string | undefined;
  let trainingStep: string | undefined;
  for (const name of order) {
    const rec = inv.finished.get(name);
    const def = inv.work.definition.steps.find((s) => s.name === name);
    if (!rec || rec.state !== 'succeeded' || !def) continue;
    for (const [file, doc] of Object.entries(rec.properties)) if (file !== '_capstan') Object.assign(metrics, numericLeaves(doc));
    Object.assign(metrics, rec.metrics);
    if (def.type === 'training') {
      // The definition holds the templates (`${params.epochs}`); the version records the values the step ran with.
      Object.assign(params, resolveValue(def.hyperparameters, inv.scope));
      trainingStep = name;
      runId = ((rec.properties._capstan ?? {}) as { runId?: string }).runId ?? runId;
    }
    if (def.type === 'processing') for (const [o, out] of Object.entries(rec.outputs)) datasetDigests[`${name}.${o}`] = out.digest;
    const sets = ((rec.properties._capstan ?? {}) as { features?: Record<string, { digest: string }> }).features ?? {};
    for (const [channel, set] of Object.entries(sets)) datasetDigests[`${name}.features.${channel}`] = set.digest;
  }
  for (const [k, v] of Object.entries(inv.scope.params)) if (['string', 'number', 'boolean'].includes(typeof v)) params[`param.${k}`] = v as string | number | boolean;
  const actor = { actor: `system:pipeline/${inv.work.pipeline}` };
  inv.log('system', `registering ${step.model} from ${step.modelData}`);
  const version = await registry.registerVersion(
    step.model,
    {
      artifactUri: step.modelData,
      metrics,
      params,
      tags: { pipeline: inv.work.pipeline, execution: inv.work.id, ...(gitLineage(inv.work.trigger).commit ? { commit: gitLineage(inv.work.trigger).commit! } : {}), ...step.metadata },
      description: step.description,
      lineage: {
        runId,
        pipelineExecutionId: inv.work.id,
        pipelineStep: trainingStep ?? step.name,
        datasetDigests,
        codeDigest: inv.work.codeDigest ?? undefined,
        ...gitLineage(inv.work.trigger),
      },
    },
    actor,
  );
  let approval = version.approval;
  if (step.approval === 'Approved' && approval !== 'Approved') {
    approval = (await registry.setApproval(step.model, version.version, { status: 'Approved', comment: `approved by pipeline ${inv.work.pipeline} (${inv.work.id})` }, actor)).approval;
  }
  inv.log('system', `registered ${step.model}/${version.version} (${version.digest}), approval ${approval}`);
  return {
    ...emptyOutcome(),
    metrics,
    properties: { model: step.model, version: version.version, digest: version.digest, artifactUri: version.artifactUri, approval },
  };
};

/**
 * A register step taken from the cache names the version it registered back then; its approval is
 * reported as it is now (a person may have approved it since), not as it was at registration.
 */
export async function refreshCachedRegistration(properties: Record<string, unknown>, services: StepServices): Promise<Record<string, unknown>> {
  const registry = services.registry?.();
  const { model, version } = properties as { model?: unknown; version?: unknown };
  if (!registry || typeof model !== 'string' || typeof version !== 'number') return properties;
  try {
    return { ...properties, approval: (await registry.getVersion(model, version)).approval };
  } catch {
    return properties;
  }
}
