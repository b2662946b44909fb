import type { VariantInput } from '../serving/index.js';
import type { AlarmEvaluation } from './alarms.js';
import type { DeploymentPolicy } from './deployment-policy.js';

/** A deployment's life cycle: `Running` and `Paused` are active (one per endpoint); the rest are final. */
export const DEPLOYMENT_STATUSES = ['Running', 'Paused', 'Succeeded', 'RolledBack', 'Failed'] as const;

/** One deployment status. */
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/** Where a running deployment is: moving traffic, baking at 100 %, or waiting to release blue. */
export type DeploymentPhase = 'shifting' | 'baking' | 'terminating' | 'done';

/** One traffic change, as the history shows it. */
export interface DeploymentStep {
  at: string;
  phase: DeploymentPhase;
  /** Green's share of traffic after this step, in percent. */
  greenPercent: number;
  note?: string;
}

/** The alarm that stopped a deployment. */
export interface DeploymentAlarm {
  alarm: string;
  at: string;
  evaluation: AlarmEvaluation;
}

/** A deployment: one move of an endpoint from its blue variants to green ones under a policy. */
/** Where the code of one green variant's model version came from (its registry lineage). */
export interface DeploymentLineage {
  variant: string;
  model: string;
  version: number;
  /** The registered repository the training pipeline ran from; null when the version records only a commit. */
  repository: string | null;
  /** The git commit (40 hex). */
  commit: string;
}

export interface Deployment {
  id: string;
  endpoint: string;
  status: DeploymentStatus;
  phase: DeploymentPhase;
  policy: DeploymentPolicy;
  /** The variants before, pinned to their versions, with their weights. */
  blue: VariantInput[];
  /** The new variants, pinned, with their final weights. */
  green: VariantInput[];
  /** Index into the policy's traffic steps. */
  step: number;
  greenPercent: number;
  startedAt: string;
  stepStartedAt: string;
  finishedAt?: string;
  actor: string;
  steps: DeploymentStep[];
  /** The latest alarm evaluations (at most 50) and every one that fired. */
  evaluations: (AlarmEvaluation & { at: string })[];
  alarm?: DeploymentAlarm;
  /** Why it ended the way it did (rolled back by alarm, by hand, max execution time, load failure). */
  reason?: string;
  /** The commits of green's model versions that were trained from git; empty when none records one. */
  lineage?: DeploymentLineage[];
}
