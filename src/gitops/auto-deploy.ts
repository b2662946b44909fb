import type { Logger } from '../core/logger.js';
import type { Database } from '../storage/database.js';
import { appendEvent, type OutboxHandler } from '../storage/outbox/index.js';
import type { ServingContext } from '../serving/index.js';

interface Tables {
  gitops_auto_deploy: { model_group: string; endpoint: string; updated_at: number };
}

/** Where a model group's approved versions are deployed (`autoDeploy` of a ModelGroup document). */
export class AutoDeployStore {
  constructor(private readonly db: Database) {}

  private get k() {
    return this.db.as<Tables>();
  }

  /** The endpoint a group deploys to, or undefined. */
  async get(group: string): Promise<string | undefined> {
    return (await this.k.selectFrom('gitops_auto_deploy').select('endpoint').where('model_group', '=', group).executeTakeFirst())?.endpoint;
  }

  /** Sets (or with undefined clears) a group's auto-deploy endpoint. */
  async set(group: string, endpoint: string | undefined): Promise<void> {
    await this.k.deleteFrom('gitops_auto_deploy').where('model_group', '=', group).execute();
    if (endpoint) await this.k.insertInto('gitops_auto_deploy').values({ model_group: group, endpoint, updated_at: Date.now() }).execute();
  }
}

/**
 * The outbox subscriber of `model_version.approved`: deploys the version to its group's auto-deploy
 * endpoint (blue/green, through the serving context) and raises `deployment.started`. A redelivered or
 * late event never rolls an endpoint back: a version older than the one it serves is skipped.
 */
export function autoDeployHandler(deps: { store: AutoDeployStore; serving: () => ServingContext; db: Database; logger: Logger }): OutboxHandler {
  return async (event) => {
    const model = String(event.data.model ?? '');
    const version = Number(event.data.version);
    const endpoint = model ? await deps.store.get(model) : undefined;
    if (!endpoint || !Number.isInteger(version)) return;
    const serving = deps.serving();
    const current = await serving.describe(endpoint).catch(() => undefined);
    if (current?.variants.some((v) => v.resolved.name === model && v.resolved.version >= version)) return;
    const result = await serving.deploy(endpoint, `models:/${model}/${version}`, {}, { actor: `system:auto-deploy/${model}` });
    deps.logger.info({ endpoint, model, version, action: result.action }, 'auto-deployed an approved model version');
    await appendEvent(deps.db.kysely, { type: 'deployment.started', subject: `endpoints/${endpoint}`, data: { endpoint, model, version, action: result.action, trigger: 'auto-deploy', approvalEvent: event.id } });
  };
}
