import { sleep } from '../core/clock.js';
import { CapstanError } from '../core/errors.js';
import type { DeploymentPolicyInput, RolloutService } from '../rollouts/index.js';
import type { ServingContext } from '../serving/index.js';
import type { DeployRequest } from './steps/index.js';

/** How often a waiting deploy step looks at its deployment. */
const POLL_MS = 500;

/**
 * A deploy step: blue/green by serving, or, with `config.deploymentPolicy`, a deployment that the
 * rollouts context moves step by step under alarms. By default the step waits for the deployment's
 * outcome (succeeded, or failed naming the alarm that rolled it back or paused it) up to the step's
 * `timeout` (default: the policy's maximum execution time plus a minute); `config.wait: false` ends
 * the step once the deployment started.
 */
export async function deployStep(request: DeployRequest, use: <T>(name: string) => T): Promise<Record<string, unknown>> {
  const { deploymentPolicy, force, wait, ...config } = request.config as { deploymentPolicy?: DeploymentPolicyInput; force?: boolean; wait?: unknown };
  if (deploymentPolicy === undefined) return use<ServingContext>('serving').deployStep(request);
  if (wait !== undefined && typeof wait !== 'boolean') throw new CapstanError('CAPSTAN_PIPELINE_INVALID', `step "${request.step}": config.wait must be true or false, got ${JSON.stringify(wait)}`, { retryable: false, fields: { step: request.step, field: 'config.wait' } });
  const rollouts = use<RolloutService>('rollouts');
  const ref = `models:/${request.model}${request.version !== undefined ? `/${request.version}` : request.alias ? `@${request.alias}` : '/latest'}`;
  const started = await rollouts.start(request.endpoint, { model: ref, settings: config, policy: deploymentPolicy, force: force === true }, { actor: request.actor });
  const base = { endpoint: started.endpoint, deploymentId: started.id, strategy: started.policy.strategy, model: started.green[0]?.model };
  if (wait === false) return { action: 'deployment-started', ...base, status: started.status, greenPercent: started.greenPercent };
  const timeoutMs = request.timeoutMs ?? (started.policy.maxExecutionSeconds + 60) * 1000;
  request.log?.(`waiting up to ${Math.round(timeoutMs / 1000)} s for deployment ${started.id} (${started.policy.strategy}) to finish`);
  const deadline = Date.now() + timeoutMs;
  let lastPercent = started.greenPercent;
  for (;;) {
    const d = await rollouts.get(started.endpoint, started.id);
    if (d.greenPercent !== lastPercent && d.status === 'Running') request.log?.(`deployment ${d.id}: green serves ${(lastPercent = d.greenPercent)} %`);
    if (d.status === 'Succeeded') return { action: 'deployment-succeeded', ...base, status: d.status, greenPercent: 100 };
    if (d.status !== 'Running') {
      const alarm = d.alarm ? `alarm ${d.alarm.alarm} fired (value ${d.alarm.evaluation.value ?? 'n/a'}, threshold ${d.alarm.evaluation.threshold ?? 'n/a'})` : undefined;
      const what = d.status === 'Paused' ? `is paused${alarm ? `: ${alarm}` : ''}; resume or roll it back (capstan endpoints deployments ${d.endpoint})` : `ended ${d.status}: ${d.reason ?? alarm ?? 'no reason recorded'}`;
      throw new CapstanError('CAPSTAN_PIPELINE_DEPLOYMENT_NOT_SUCCEEDED', `step "${request.step}": deployment ${d.id} of ${d.endpoint} ${what}`, {
        retryable: false,
        fields: { step: request.step, deploymentId: d.id, endpoint: d.endpoint, status: d.status, ...(d.alarm ? { alarm: d.alarm.alarm } : {}) },
      });
    }
    if (Date.now() >= deadline) {
      throw new CapstanError('CAPSTAN_PIPELINE_STEP_TIMEOUT', `step "${request.step}" waited ${Math.round(timeoutMs / 1000)} s for deployment ${d.id} of ${d.endpoint}, which is still running at ${d.greenPercent} % green and continues under its policy`, {
        retryable: false,
        fields: { step: request.step, deploymentId: d.id, endpoint: d.endpoint },
      });
    }
    await sleep(POLL_MS, request.signal);
  }
}
