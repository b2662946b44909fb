import { CapstanError } from '../../core/errors.js';
import { evaluateCondition } from '../conditions.js';
import type { ConditionStep, DeployStep, FailStep } from '../definition.js';
import { emptyOutcome, type StepHandler, type StepServices } from './step-handler.js';

/** condition: evaluates the CEL expression; the scheduler skips the steps of the branch not taken. */
export const runConditionStep: StepHandler = async (inv) => {
  const step = inv.step as ConditionStep;
  const vars = Object.fromEntries(Object.entries(inv.scope.steps).map(([n, s]) => [n, { properties: s.properties, metrics: s.metrics, outputs: Object.fromEntries(Object.entries(s.outputs).map(([k, o]) => [k, o.uri])) }]));
  const result = evaluateCondition(step.if, { params: inv.scope.params, steps: vars });
  inv.log('system', `condition ${JSON.stringify(step.if)} is ${result}: running ${result ? 'then' : 'else'} [${(result ? step.then : step.else).join(', ')}]`);
  return { ...emptyOutcome(), properties: { result }, branch: result ? 'then' : 'else' };
};

/** fail: ends the execution as failed with the (resolved) message. */
export const runFailStep: StepHandler = async (inv) => {
  const step = inv.step as FailStep;
  inv.log('system', step.message);
  throw new CapstanError('CAPSTAN_PIPELINE_FAIL_STEP', step.message, { retryable: false });
};

/**
 * The human-approval gate before anything is deployed: a version still pending (or rejected) stops the
 * step, naming the commands that approve and deploy it. Checked when the step runs, so an approval
 * given by the group's auto-approval policy at registration counts.
 */
async function assertApproved(step: DeployStep, ref: string, services: StepServices): Promise<void> {
  const registry = services.registry?.();
  if (!registry) {
    throw new CapstanError('CAPSTAN_PIPELINE_REGISTRY_MISSING', `step "${step.name}" cannot check the approval of ${ref}: no registry is installed`, { retryable: false });
  }
  const v = await registry.resolve(ref);
  if (v.approval === 'Approved') return;
  throw new CapstanError(
    'CAPSTAN_PIPELINE_DEPLOY_NOT_APPROVED',
    `step "${step.name}": ${v.name}/${v.version} is ${v.approval}, so it was not deployed; approve it (capstan models approve ${v.name} ${v.version}) and deploy it (capstan endpoints deploy ${step.endpoint} --model models:/${v.name}/${v.version}), or set require_approval: false on the step`,
    { retryable: false, fields: { modelName: v.name, version: v.version } },
  );
}

/** deploy: hands the request to the serving context's deployer, once the version is approved. */
export const runDeployStep: StepHandler = async (inv, services) => {
  const step = inv.step as DeployStep;
  const deployer = services.deployer?.();
  if (!deployer) {
    throw new CapstanError('CAPSTAN_PIPELINE_DEPLOYER_MISSING', `step "${step.name}" cannot deploy endpoint "${step.endpoint}": no deployer is registered (the serving context is not installed)`, { retryable: false });
  }
  let version: number | undefined;
  if (step.version !== undefined) {
    version = Number(step.version);
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new CapstanError('CAPSTAN_PIPELINE_REFERENCE_UNRESOLVED', `step "${step.name}": version ${JSON.stringify(step.version)} is not a positive integer`, { retryable: false });
    }
  }
  const ref = `models:/${step.model}${version ? `/${version}` : `@${step.alias}`}`;
  if (step.requireApproval) await assertApproved(step, ref, services);
  inv.log('system', `deploying ${ref} to endpoint ${step.endpoint}`);
  const properties = await deployer.deploy({
    endpoint: step.endpoint,
    model: step.model,
    version,
    alias: step.alias,
    config: step.config,
    actor: `system:pipeline/${inv.work.pipeline}`,
    executionId: inv.work.id,
    step: step.name,
  });
  return { ...emptyOutcome(), properties };
};
