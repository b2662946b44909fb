import { CapstanError } from '../core/errors.js';
import { compileAlarms, type Alarm, type AlarmInput } from './alarms.js';

/** How traffic moves from the old (blue) variants to the new (green) ones (SageMaker's TrafficRoutingConfig). */
export const DEPLOYMENT_STRATEGIES = ['all-at-once', 'canary', 'linear'] as const;

/** One strategy. */
export type DeploymentStrategy = (typeof DEPLOYMENT_STRATEGIES)[number];

/** What to do when an alarm fires: shift 100 % back to blue, or hold the current shares and wait for a person. */
export const ON_ALARM_ACTIONS = ['rollback', 'pause'] as const;

/** One on-alarm action. */
export type OnAlarmAction = (typeof ON_ALARM_ACTIONS)[number];

/** A deployment policy as a user writes it; `compileDeploymentPolicy` validates it and fills the defaults. */
export interface DeploymentPolicyInput {
  strategy: DeploymentStrategy;
  /** Canary: green's share of the first step, 1-50 %; default 10. */
  canaryPercent?: number;
  /** Linear: green's share added per step, 10-50 %; default 25. */
  linearStepPercent?: number;
  /** Seconds each step holds before the next (WaitIntervalInSeconds), 0-3600; default 60. */
  waitSeconds?: number;
  /** Seconds green holds 100 % with alarms armed before the deployment may finish, 0-3600; default 0. */
  bakeSeconds?: number;
  /** Seconds the old variants stay loaded (at weight 0) after baking before they are released (TerminationWaitInSeconds), 0-3600; default 0. */
  terminationWaitSeconds?: number;
  /** Longest the whole deployment may run before it is rolled back (MaximumExecutionTimeoutInSeconds), 600-14400; default 14400. */
  maxExecutionSeconds?: number;
  /** How often alarms are evaluated, 1-300 s; default 10. */
  evaluationIntervalSeconds?: number;
  /** Default `rollback`. */
  onAlarm?: OnAlarmAction;
  /** Conditions that stop the deployment; default none. */
  alarms?: AlarmInput[];
}

/** Every field of a `DeploymentPolicyInput`, for forms that embed a policy and refuse unknown keys (a gitops ModelGroup's `autoDeploy`). */
export const DEPLOYMENT_POLICY_FIELDS = ['strategy', 'canaryPercent', 'linearStepPercent', 'waitSeconds', 'bakeSeconds', 'terminationWaitSeconds', 'maxExecutionSeconds', 'evaluationIntervalSeconds', 'onAlarm', 'alarms'] as const satisfies readonly (keyof DeploymentPolicyInput)[];

/** A validated policy with every default filled in. */
export interface DeploymentPolicy {
  strategy: DeploymentStrategy;
  canaryPercent?: number;
  linearStepPercent?: number;
  waitSeconds: number;
  bakeSeconds: number;
  terminationWaitSeconds: number;
  maxExecutionSeconds: number;
  evaluationIntervalSeconds: number;
  onAlarm: OnAlarmAction;
  alarms: AlarmInput[];
}

function invalid(detail: string, field: string): CapstanError {
  return new CapstanError('CAPSTAN_ROLLOUT_POLICY_INVALID', detail, { fields: { field } });
}

function int(input: Record<string, unknown>, field: string, min: number, max: number, fallback: number, unit = ''): number {
  const value = input[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(`${field} must be an integer from ${min} to ${max}${unit}, got ${JSON.stringify(value)}`, field);
  return value;
}

/** Validates a policy with SageMaker's ranges and compiles its alarms; throws CAPSTAN_ROLLOUT_POLICY_INVALID (or CAPSTAN_ROLLOUT_ALARM_INVALID) naming the field. */
export function compileDeploymentPolicy(input: DeploymentPolicyInput): { policy: DeploymentPolicy; alarms: Alarm[] } {
  if (!input || typeof input !== 'object') throw invalid('a deployment policy must be an object', 'strategy');
  const raw = input as unknown as Record<string, unknown>;
  if (!(DEPLOYMENT_STRATEGIES as readonly string[]).includes(input.strategy)) throw invalid(`strategy must be one of ${DEPLOYMENT_STRATEGIES.join(', ')}, got ${JSON.stringify(input.strategy)}`, 'strategy');
  if (input.canaryPercent !== undefined && input.strategy !== 'canary') throw invalid('canaryPercent is for the canary strategy', 'canaryPercent');
  if (input.linearStepPercent !== undefined && input.strategy !== 'linear') throw invalid('linearStepPercent is for the linear strategy', 'linearStepPercent');
  const onAlarm = input.onAlarm ?? 'rollback';
  if (!(ON_ALARM_ACTIONS as readonly string[]).includes(onAlarm)) throw invalid(`onAlarm must be one of ${ON_ALARM_ACTIONS.join(', ')}, got ${JSON.stringify(onAlarm)}`, 'onAlarm');
  if (input.alarms !== undefined && !Array.isArray(input.alarms)) throw invalid('alarms must be a list', 'alarms');
  const policy: DeploymentPolicy = {
    strategy: input.strategy,
    ...(input.strategy === 'canary' ? { canaryPercent: int(raw, 'canaryPercent', 1, 50, 10, ' %') } : {}),
    ...(input.strategy === 'linear' ? { linearStepPercent: int(raw, 'linearStepPercent', 10, 50, 25, ' %') } : {}),
    waitSeconds: int(raw, 'waitSeconds', 0, 3600, 60, ' s'),
    bakeSeconds: int(raw, 'bakeSeconds', 0, 3600, 0, ' s'),
    terminationWaitSeconds: int(raw, 'terminationWaitSeconds', 0, 3600, 0, ' s'),
    maxExecutionSeconds: int(raw, 'maxExecutionSeconds', 600, 14400, 14400, ' s'),
    evaluationIntervalSeconds: int(raw, 'evaluationIntervalSeconds', 1, 300, 10, ' s'),
    onAlarm,
    alarms: input.alarms ?? [],
  };
  return { policy, alarms: compileAlarms(policy.alarms) };
}

/** Green's share of traffic at each step, ending at 100: `[100]`, `[10, 100]`, `[25, 50, 75, 100]`. */
export function trafficSteps(policy: DeploymentPolicy): number[] {
  switch (policy.strategy) {
    case 'all-at-once':
      return [100];
    case 'canary':
      return [policy.canaryPercent ?? 10, 100];
    case 'linear': {
      const step = policy.linearStepPercent ?? 25;
      const out: number[] = [];
      for (let p = step; p < 100; p += step) out.push(p);
      return [...out, 100];
    }
  }
}
