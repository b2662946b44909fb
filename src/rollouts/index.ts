/**
 * Safe rollouts: deployments that move an endpoint from its old (blue) variants to new (green) ones
 * in canary or linear steps under alarms, with automatic rollback, a history and outbox events.
 */
import { systemClock } from '../core/clock.js';
import type { EndpointService } from '../serving/index.js';
import type { RegistryService } from '../registry/index.js';
import { defineContext } from '../storage/context-module.js';
import { AutoDeploy } from './auto-deploy.js';
import { DeploymentDriver } from './deployment-driver.js';
import { rolloutsRoutes } from './http/rollouts-routes.js';
import { rollouts as rolloutTables } from './migrations/0012-rollouts.js';
import { deploymentLineage } from './migrations/0028-deployment-lineage.js';
import { rolloutFeedback } from './migrations/0018-rollout-feedback.js';
import { rolloutScoreHistograms } from './migrations/0029-rollout-score-histograms.js';
import { FeedbackBook } from './feedback.js';
import { ScoreBook } from './score-book.js';
import { ScoreFlusher } from './score-flusher.js';
import { SqlScoreStore } from './sql-score-store.js';
import { ThompsonBandit } from './thompson-bandit.js';
import type { ServingContext } from '../serving/index.js';
import { RolloutController } from './rollout-controller.js';
import { LocalRolloutService, type RolloutService } from './rollout-service.js';
import { SqlDeploymentStore } from './sql-deployment-store.js';

export type { RolloutService, StartDeploymentInput } from './rollout-service.js';
export type { AutoDeployInput, AutoDeployPolicy } from './auto-deploy.js';
export type { ShadowComparison, ShadowReport } from './shadow-report.js';
export type { AbReport, AbVariant, FeedbackInput, FeedbackResult } from './feedback.js';
export type * from './deployment.js';
export type { AlarmInput, AlarmEvaluation, AlarmType } from './alarms.js';
export { ALARM_TYPES } from './alarms.js';
export { DEPLOYMENT_POLICY_FIELDS, DEPLOYMENT_STRATEGIES, ON_ALARM_ACTIONS, compileDeploymentPolicy, trafficSteps, type DeploymentPolicy, type DeploymentPolicyInput, type DeploymentStrategy, type OnAlarmAction } from './deployment-policy.js';

/** Rollouts: `platform.context('rollouts')`, the controller (in `capstan up` and `capstan worker`), `/api/v1/endpoints/{name}/deployments`. */
export const rolloutsContext = defineContext<RolloutService>({
  name: 'rollouts',
  migrations: { '0012_rollouts': rolloutTables, '0018_rollout_feedback': rolloutFeedback, '0028_deployment_lineage': deploymentLineage, '0029_rollout_score_histograms': rolloutScoreHistograms },
  create({ config, db, logger, use, artifacts }) {
    const store = new SqlDeploymentStore(db);
    const serving = () => use<EndpointService>('serving');
    const scores = new ScoreBook(new SqlScoreStore(db), logger);
    const driver = new DeploymentDriver({ store, serving, logger, clock: systemClock, scores });

    // The subscriber starts deployments through the service, which holds the policies: built lazily both ways.
    const autoDeploy: AutoDeploy = new AutoDeploy({ db, rollouts: () => service, serving, logger });
    const feedback = new FeedbackBook(db, logger);
    const bandit = new ThompsonBandit({ serving, feedback, logger });
    const controller = new RolloutController(store, driver, logger, { tickMs: config.rollouts.tickMs, leaseMs: config.rollouts.leaseMs }, bandit);
    try {
      // Serving is built before this context (contexts.ts): it tells the book who answered each inference id.
      use<ServingContext>('serving').host.invocationListeners.push((e) => {
        feedback.assigned(e);
        scores.answered(e);
      });
    } catch {
      // A platform without serving has no invocations to join feedback to.
    }
    const service = new LocalRolloutService({ store, driver, serving, logger, clock: systemClock, autoDeploy: () => autoDeploy, artifacts, feedback, scores, registry: () => use<RegistryService>('registry') });
    return {
      service,
      background: [controller, new ScoreFlusher(store, scores, logger, config.serving.statsFlushMs)],
      workServices: [controller],
      close: () => feedback.close(),
      subscriptions: [{ name: 'rollouts.auto-deploy', patterns: ['model_version.approved'], handler: (event) => autoDeploy.onApproved(event) }],
    };
  },
  routes: [rolloutsRoutes],
});
