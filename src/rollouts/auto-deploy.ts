import { CapstanError, isCapstanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { assertName } from '../core/names.js';
import type { EndpointService } from '../serving/index.js';
import type { Database } from '../storage/database.js';
import { parseJson } from '../storage/database.js';
import type { OutboxEvent } from '../storage/outbox/index.js';
import { compileDeploymentPolicy, type DeploymentPolicyInput } from './deployment-policy.js';
import type { RolloutService } from './rollout-service.js';

interface AutoDeployTable {
  auto_deploy_policies: { model: string; endpoint: string; policy: string; created_at: number; actor: string };
}

/** An auto-deploy policy as a user writes it. */
export interface AutoDeployInput {
  /** The endpoint each newly approved version of the model group rolls out to. */
  endpoint: string;
  policy: DeploymentPolicyInput;
  /** Roll a running deployment back in favour of the newer approval; default true (the latest approval wins). */
  supersede?: boolean;
}

/** A stored auto-deploy policy. */
export interface AutoDeployPolicy extends Required<AutoDeployInput> {
  model: string;
  createdAt: string;
  actor: string;
}

/** Auto-deploy policies by model group: on `model_version.approved`, a deployment of that version to the named endpoint. */
export class AutoDeploy {
  constructor(private readonly deps: { db: Database; rollouts: () => RolloutService; serving: () => EndpointService; logger: Logger }) {}

  private get k() {
    return this.deps.db.as<AutoDeployTable>();
  }

  /** Sets (or replaces) the model group's policy; validated (alarms compiled) before it is stored. */
  async set(model: string, input: AutoDeployInput, actor: string): Promise<AutoDeployPolicy> {
    assertName(model, 'model name');
    if (!input || typeof input !== 'object') throw new CapstanError('CAPSTAN_ROLLOUT_POLICY_INVALID', 'give an endpoint and a policy');
    assertName(input.endpoint, 'endpoint name');
    compileDeploymentPolicy(input.policy);
    const row = { model, endpoint: input.endpoint, policy: JSON.stringify({ policy: input.policy, supersede: input.supersede !== false }), created_at: Date.now(), actor };
    await this.k.deleteFrom('auto_deploy_policies').where('model', '=', model).execute();
    await this.k.insertInto('auto_deploy_policies').values(row).execute();
    return this.toPolicy(row);
  }

  /** The model group's policy; CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND when it has none. */
  async get(model: string): Promise<AutoDeployPolicy> {
    const row = await this.k.selectFrom('auto_deploy_policies').selectAll().where('model', '=', model).executeTakeFirst();
    if (!row) throw new CapstanError('CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND', `model ${model} has no auto-deploy policy`, { fields: { model } });
    return this.toPolicy(row);
  }

  /** Removes the model group's policy; false when it had none. */
  async remove(model: string): Promise<boolean> {
    const res = await this.k.deleteFrom('auto_deploy_policies').where('model', '=', model).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  private toPolicy(row: AutoDeployTable['auto_deploy_policies']): AutoDeployPolicy {
    const p = parseJson<{ policy: DeploymentPolicyInput; supersede: boolean }>(row.policy, { policy: { strategy: 'canary' }, supersede: true });
    return { model: row.model, endpoint: row.endpoint, policy: p.policy, supersede: p.supersede, createdAt: new Date(Number(row.created_at)).toISOString(), actor: row.actor };
  }

  /**
   * The outbox subscriber: a version approved in a group with a policy rolls out. At least once, so
   * an event whose deployment already exists (its id is in the first step's note) is dropped.
   */
  async onApproved(event: OutboxEvent): Promise<void> {
    const { model, version } = event.data as { model?: string; version?: number };
    if (typeof model !== 'string' || typeof version !== 'number') return;
    let auto: AutoDeployPolicy;
    try {
      auto = await this.get(model);
    } catch (err) {
      if (isCapstanError(err, 'CAPSTAN_ROLLOUT_DEPLOYMENT_NOT_FOUND')) return;
      throw err;
    }
    const ref = `models:/${model}/${version}`;
    const rollouts = this.deps.rollouts();
    const actor = `system:auto-deploy:${event.id}`;
    if ((await rollouts.list(auto.endpoint)).some((d) => d.actor === actor)) return;
    const exists = await this.deps.serving().describe(auto.endpoint).then(() => true, (err) => (isCapstanError(err, 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND') ? false : Promise.reject(err)));
    if (!exists) {
      // Nothing to shift from yet: the first version is simply deployed.
      await this.deps.serving().deploy(auto.endpoint, ref, {}, { actor });
      this.deps.logger.info({ model, version, endpoint: auto.endpoint }, 'auto-deploy created the endpoint');
      return;
    }
    const d = await rollouts.start(auto.endpoint, { model: ref, policy: auto.policy, force: auto.supersede }, { actor });
    this.deps.logger.info({ model, version, endpoint: auto.endpoint, deployment: d.id }, 'auto-deploy started a deployment');
  }
}
