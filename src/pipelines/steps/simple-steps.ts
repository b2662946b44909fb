import { CapstanError, isCapstanError } from '../../core/errors.js';
import { evaluateCondition } from '../conditions.js';
import type { ConditionStep, DeployStep, FailStep } from '../definition.js';
import { emptyOutcome, type StepHandler } from './step-handler.js';

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
 * The serving gate's refusal as a step failure: retrying cannot approve the version, so it is final,
 * and the message names the commands that approve and deploy it.
 */
function notApproved(step: DeployStep, err: CapstanError): CapstanError {
  const { modelName, version } = err.fields as { modelName: string; version: number; approval: string };
  return new CapstanError(
    'CAPSTAN_PIPELINE_DEPLOY_NOT_APPROVED',
    `step "${step.name}": ${modelName}/${version} is ${String(err.fields.approval)}, so it was not deployed; approve it (capstan models approve ${modelName} ${version}) and deploy it (capstan endpoints deploy ${step.endpoint} --model models:/${modelName}/${version})`,
    { cause: err, retryable: false, fields: { modelName, version } },
  );
}

/** deploy: hands the request to the serving context's deployer, whose approval gate refuses unapproved versions. */
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
  inv.log('system', `deploying ${ref} to endpoint ${step.endpoint}`);
  let properties: Record<string, unknown>;
  try {
    properties = await deployer.deploy({
      endpoint: step.endpoint,
      model: step.model,
      version,
      alias: step.alias,
      config: step.config,
      // A deploy started by a repository sync names the commit, so the endpoint's audit trail carries the lineage.
      actor: `system:pipeline/${inv.work.pipeline}${inv.work.trigger.type === 'git' && typeof inv.work.trigger.detail?.commit === 'string' ? `@${inv.work.trigger.detail.commit}` : ''}`,
      executionId: inv.work.id,
      step: step.name,
      timeoutMs: step.timeoutMs,
      signal: inv.signal,
      log: (line) => inv.log('system', line),
    });
  } catch (err) {
    throw isCapstanError(err) && err.code === 'CAPSTAN_SERVING_MODEL_NOT_APPROVED' ? notApproved(step, err) : err;
  }
  return { ...emptyOutcome(), properties };
};
