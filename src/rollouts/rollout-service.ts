import { CapstanError, isCapstanError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { DeployOptions, EndpointService, ServingActionContext, VariantInput } from '../serving/index.js';
import type { AutoDeploy, AutoDeployInput, AutoDeployPolicy } from './auto-deploy.js';
import type { RegistryService } from '../registry/index.js';
import type { Deployment, DeploymentLineage } from './deployment.js';
import type { ScoreBook } from './score-book.js';
import type { AbReport, FeedbackBook, FeedbackInput, FeedbackResult } from './feedback.js';
import { shadowReport, type ShadowReport } from './shadow-report.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { compileDeploymentPolicy, trafficSteps, type DeploymentPolicyInput } from './deployment-policy.js';
import type { DeploymentDriver } from './deployment-driver.js';
import { inProgress, type SqlDeploymentStore } from './sql-deployment-store.js';
import { greenName, pinned } from './traffic-plan.js';


/** How long the starter of a deployment keeps controllers off it while green loads (another process takes over after it, should the starter die). */
const START_LEASE_MS = 600_000;
/** What a deployment starts from: one model (like `deploy`) or a whole new variant list (like `update`). */
export interface StartDeploymentInput {
  /** `models:/ncf/4` or `models:/ncf@champion`: green is one variant serving it, settings from the current variant. */
  model?: string;
  /** Or the new variants; names a blue variant already uses are renamed (`primary-d3`). */
  variants?: VariantInput[];
  /** Or promote this shadow variant: green serves its model with its settings (the shadow keeps mirroring until the end). */
  fromShadow?: string;
  /** Variant settings for `model` (instances, batching, timeout…); default the current variant's. */
  settings?: Omit<DeployOptions, 'dataCapture'>;
  policy: DeploymentPolicyInput;
  /** Roll back a running deployment of the endpoint first instead of answering 409; default false. */
  force?: boolean;
}

/** Safe rollouts: deployments that move an endpoint's traffic step by step under alarms. */
export interface RolloutService {
  /** Starts a deployment; validates everything before any change, answers 409 while another runs (unless `force`). */
  start(endpoint: string, input: StartDeploymentInput, ctx?: ServingActionContext): Promise<Deployment>;
  /** The endpoint's deployments, newest first. */
  list(endpoint: string): Promise<Deployment[]>;
  /** One deployment by id. */
  get(endpoint: string, id: string): Promise<Deployment>;
  /** Rolls the endpoint's running or paused deployment back to 100 % blue. */
  rollback(endpoint: string, ctx?: ServingActionContext): Promise<Deployment>;
  /** Continues a paused deployment from where the alarm stopped it. */
  resume(endpoint: string, ctx?: ServingActionContext): Promise<Deployment>;
  /** Sets the model group's auto-deploy policy: each version approved from now on rolls out to the endpoint. */
  setAutoDeploy(model: string, input: AutoDeployInput, ctx?: ServingActionContext): Promise<AutoDeployPolicy>;
  /** The model group's auto-deploy policy. */
  getAutoDeploy(model: string): Promise<AutoDeployPolicy>;
  /** Removes the model group's auto-deploy policy. */
  removeAutoDeploy(model: string): Promise<void>;
  /** Compares each shadow variant's answers with the answers users got (from data capture). */
  shadowReport(endpoint: string): Promise<ShadowReport>;
  /** Joins an outcome (reward or label) to the invocation with that inference id; 404 and nothing stored for an unknown id. */
  feedback(endpoint: string, input: FeedbackInput): Promise<FeedbackResult>;
  /** Per-variant counts, mean reward or conversion with 95 % intervals, and a significance test. */
  abReport(endpoint: string): Promise<AbReport>;
}

/** The rollout service on the embedded platform. */
export class LocalRolloutService implements RolloutService {
  constructor(private readonly deps: { store: SqlDeploymentStore; driver: DeploymentDriver; serving: () => EndpointService; logger: Logger; clock: Clock; autoDeploy?: () => AutoDeploy; artifacts?: ArtifactStore; feedback?: FeedbackBook; scores?: ScoreBook; registry?: () => RegistryService }) {}

  /** The git commits of green's pinned model versions, from their registry lineage (versions trained from a registered repository). */
  private async lineageOf(green: VariantInput[]): Promise<DeploymentLineage[]> {
    let registry: RegistryService | undefined;
    try {
      registry = this.deps.registry?.();
    } catch {
      return []; // a platform without the registry context has no lineage to record
    }
    if (!registry) return [];
    const out: DeploymentLineage[] = [];
    for (const v of green) {
      if (typeof v.model !== 'string' || v.multiModel || v.url !== undefined) continue;
      const mv = await registry.resolve(v.model).catch(() => undefined);
      if (mv?.lineage.commit) out.push({ variant: v.name ?? '', model: mv.name, version: mv.version, repository: mv.lineage.repository ?? null, commit: mv.lineage.commit });
    }
    return out;
  }

  private book(): FeedbackBook {
    if (!this.deps.feedback) throw new CapstanError('CAPSTAN_CONFIG_CONTEXT_MISSING', 'feedback is not installed here');
    return this.deps.feedback;
  }

  async feedback(endpoint: string, input: FeedbackInput): Promise<FeedbackResult> {
    await this.deps.serving().describe(endpoint);
    return this.book().submit(endpoint, input);
  }

  async abReport(endpoint: string): Promise<AbReport> {
    await this.deps.serving().describe(endpoint);
    return this.book().report(endpoint);
  }

  async shadowReport(endpoint: string): Promise<ShadowReport> {
    await this.deps.serving().describe(endpoint);
    if (!this.deps.artifacts) throw new CapstanError('CAPSTAN_CONFIG_CONTEXT_MISSING', 'no artifact store here');
    return shadowReport(this.deps.artifacts, endpoint);
  }

  private auto(): AutoDeploy {
    if (!this.deps.autoDeploy) throw new CapstanError('CAPSTAN_CONFIG_CONTEXT_MISSING', 'auto-deploy is not installed here');
    return this.deps.autoDeploy();
  }

  setAutoDeploy(model: string, input: AutoDeployInput, ctx: ServingActionContext = {}): Promise<AutoDeployPolicy> {
    return this.auto().set(model, input, ctx.actor ?? 'local');
  }

  getAutoDeploy(model: string): Promise<AutoDeployPolicy> {
    return this.auto().get(model);
  }

  async removeAutoDeploy(model: string): Promise<void> {
    if (!(await this.auto().remove(model))) throw new CapstanError('CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND', `model ${model} has no auto-deploy policy`, { fields: { model } });
  }

  async start(endpoint: string, input: StartDeploymentInput, ctx: ServingActionContext = {}): Promise<Deployment> {
    if (!input || typeof input !== 'object') throw new CapstanError('CAPSTAN_ROLLOUT_POLICY_INVALID', 'give a model or variants and a policy');
    const { policy, alarms } = compileDeploymentPolicy(input.policy);
    if ([input.model, input.variants, input.fromShadow].filter((x) => x !== undefined).length !== 1) throw new CapstanError('CAPSTAN_ROLLOUT_POLICY_INVALID', 'give one of model, variants or fromShadow for the new (green) side', { fields: { field: 'model' } });
    if (input.variants !== undefined && (!Array.isArray(input.variants) || input.variants.length === 0)) throw new CapstanError('CAPSTAN_ROLLOUT_POLICY_INVALID', 'variants must list at least one variant', { fields: { field: 'variants' } });
    const serving = this.deps.serving();
    let current;
    try {
      current = await serving.describe(endpoint);
    } catch (err) {
      if (isCapstanError(err, 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND')) {
        throw new CapstanError('CAPSTAN_ROLLOUT_NO_PREVIOUS_VERSION', `endpoint ${endpoint} does not exist, so there is nothing to shift traffic from; create it (or deploy without a strategy) first`, { fields: { endpoint } });
      }
      throw err;
    }
    if (current.status !== 'InService') throw new CapstanError('CAPSTAN_ROLLOUT_NO_PREVIOUS_VERSION', `endpoint ${endpoint} is ${current.status}; a rollout needs a version in service to shift traffic from`, { fields: { endpoint, endpointStatus: current.status } });
    const running = await this.deps.store.active(endpoint);
    if (running && !input.force) throw inProgress(endpoint);
    if (running) await this.deps.driver.rollback(running, undefined, 'superseded by a forced deployment');
    const blue = (running ? running.blue : current.variants.map(pinned)).map((v) => ({ ...v }));
    const history = await this.deps.store.list(endpoint, 1000);
    // Names an earlier blue or green used may still have statistics in an alarm's window: never reuse them.
    const taken = new Set([...blue.map((v) => v.name!), ...history.flatMap((d) => [...d.green, ...d.blue].map((v) => v.name!))]);
    const sequence = history.length + 1;
    let green: VariantInput[];
    if (input.fromShadow !== undefined) {
      const shadow = blue.find((v) => v.name === input.fromShadow && v.shadowPercent);
      if (!shadow) throw new CapstanError('CAPSTAN_SERVING_VARIANT_NOT_FOUND', `endpoint ${endpoint} has no shadow variant ${input.fromShadow}`, { fields: { endpoint, variant: input.fromShadow } });
      const { shadowPercent: _s, ...settings } = shadow;
      green = [{ ...settings, name: greenName(shadow.name!, taken, sequence), weight: 1 }];
    } else if (input.model !== undefined) {
      const base = blue.find((v) => v.name === input.settings?.variant) ?? blue[0];
      const { variant, ...settings } = input.settings ?? {};
      green = [{ ...base, ...settings, name: greenName(variant ?? base.name ?? 'primary', taken, sequence), model: input.model, weight: 1 }];
    } else {
      green = input.variants!.map((v, i) => {
        const name = greenName(v.name ?? (i === 0 ? 'primary' : `variant-${i + 1}`), taken, sequence);
        taken.add(name);
        return { ...v, name };
      });
    }
    const steps = trafficSteps(policy);
    const at = new Date(this.deps.clock.now()).toISOString();
    const d: Deployment = {
      id: newId('dep'),
      endpoint,
      status: 'Running',
      phase: steps[0] >= 100 ? 'baking' : 'shifting',
      policy,
      blue,
      green,
      step: 0,
      greenPercent: steps[0],
      startedAt: at,
      stepStartedAt: at,
      actor: ctx.actor ?? 'local',
      steps: [{ at, phase: steps[0] >= 100 ? 'baking' : 'shifting', greenPercent: steps[0] }],
      evaluations: [],
    };
    if (alarms.some((a) => a.needsScores)) this.deps.scores?.watch(endpoint);
    // The row claims the endpoint first (one active deployment each), then green loads and takes its
    // first share. The starter holds the lease meanwhile: a controller that evaluated alarms before the
    // share was applied could roll back first and have the late share undo it.
    const starter = `start:${d.id}`;
    await this.deps.store.insert(d, { owner: starter, until: this.deps.clock.now() + START_LEASE_MS });
    try {
      await this.deps.driver.applyShare(d, steps[0], { ...ctx, actor: ctx.actor ?? 'system:rollouts' });
    } catch (err) {
      d.status = 'Failed';
      d.phase = 'done';
      d.greenPercent = 0;
      d.finishedAt = new Date(this.deps.clock.now()).toISOString();
      d.reason = `green did not start: ${isCapstanError(err) ? `${err.message} (${err.code})` : 'internal error'}`;
      d.steps.push({ at: d.finishedAt, phase: 'done', greenPercent: 0, note: d.reason });
      await this.deps.store.save(d, undefined, { type: 'deployment.failed', data: { reason: d.reason } });
      throw err;
    }
    // Pin green to the versions its references resolved to, so later steps never pick up a moved alias.
    const served = await serving.describe(endpoint);
    d.green = d.green.map((g) => {
      const v = served.variants.find((x) => x.name === g.name);
      return v ? { ...pinned(v), weight: g.weight ?? 1 } : g;
    });
    d.lineage = await this.lineageOf(d.green);
    await this.deps.store.save(d, undefined);
    await this.deps.store.release(d.id, starter);
    this.deps.logger.info({ deployment: d.id, endpoint, strategy: policy.strategy, green: d.green.map((v) => `${v.name}=${v.model}`) }, 'deployment started');
    return d;
  }

  list(endpoint: string): Promise<Deployment[]> {
    return this.deps.store.list(endpoint);
  }

  async get(endpoint: string, id: string): Promise<Deployment> {
    const d = await this.deps.store.get(id);
    if (d.endpoint !== endpoint) throw new CapstanError('CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND', `endpoint ${endpoint} has no deployment ${id}`, { fields: { endpoint, deploymentId: id } });
    const { lastEvalAt: _l, ...out } = d;
    return out;
  }

  async rollback(endpoint: string, ctx: ServingActionContext = {}): Promise<Deployment> {
    const d = await this.activeOf(endpoint);
    await this.deps.driver.rollback(d, undefined, `rolled back by ${ctx.actor ?? 'a person'}`);
    return this.get(endpoint, d.id);
  }

  async resume(endpoint: string, ctx: ServingActionContext = {}): Promise<Deployment> {
    const d = await this.activeOf(endpoint);
    if (d.status !== 'Paused') throw new CapstanError('CAPSTAN_ROLLOUT_NOT_PAUSED', `the deployment of ${endpoint} is ${d.status}, not Paused`, { fields: { endpoint, deploymentId: d.id } });
    const at = new Date(this.deps.clock.now()).toISOString();
    d.status = 'Running';
    d.stepStartedAt = at;
    d.lastEvalAt = this.deps.clock.now();
    d.steps.push({ at, phase: d.phase, greenPercent: d.greenPercent, note: `resumed by ${ctx.actor ?? 'a person'}` });
    await this.deps.store.save(d, undefined, { type: 'deployment.step', data: { resumed: true } });
    return this.get(endpoint, d.id);
  }

  private async activeOf(endpoint: string) {
    const d = await this.deps.store.active(endpoint);
    if (!d) throw new CapstanError('CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND', `endpoint ${endpoint} has no running or paused deployment`, { fields: { endpoint } });
    return d;
  }
}
