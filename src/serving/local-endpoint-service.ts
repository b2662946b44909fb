import os from 'node:os';
import { CapstanError, isCapstanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { assertName } from '../core/names.js';
import { compileEndpointConfig, type EndpointConfigInput, type VariantInput } from './endpoint-config.js';
import { appendOverrides, checkApprovals, overrideReason } from './approval-gate.js';
import type { EndpointHost } from './endpoint-host.js';
import type {
  DeployOptions,
  DeployResult,
  EndpointService,
  InvokeOptions,
  InvokeResult,
  ServingActionContext,
  UpdateEndpointInput,
} from './endpoint-service.js';
import type { Endpoint, StoredVariant } from './endpoint.js';
import type { ModelSource } from './model-source.js';
import type { EndpointModels } from './multi-model-state.js';
import { multiModelResolved } from './multi-model-config.js';
import type { SqlEndpointStore, StoredConfig } from './sql-endpoint-store.js';
import type { SqlVariantStatsStore } from './sql-variant-stats-store.js';
import type { VariantStatsBoard } from './variant-stats-board.js';
import type { EndpointStats, VariantStatsOptions } from './variant-stats.js';
import { bodyText } from './invocation-body.js';

/** What the local service is built from. */
export interface LocalEndpointServiceDeps {
  store: SqlEndpointStore;
  host: EndpointHost;
  models: ModelSource;
  logger: Logger;
  /** Where the per-variant statistics are flushed and read. */
  statsBoard: VariantStatsBoard;
  stats: SqlVariantStatsStore;
}

function defaultActor(): string {
  try {
    return `local:${os.userInfo().username}`;
  } catch {
    return 'local:unknown';
  }
}

function reasonOf(err: unknown): string {
  return isCapstanError(err) ? `${err.message} (${err.code})` : 'internal error while loading the model';
}

/** The error a failed create or update answers with: the runtime's own catalogue error, or a generic load failure. */
function loadFailure(name: string, err: unknown): CapstanError {
  if (isCapstanError(err)) return err;
  return new CapstanError('CAPSTAN_SERVING_MODEL_LOAD_FAILED', `endpoint ${name}: internal error while loading the model`, { cause: err, fields: { endpoint: name } });
}

/** The variant settings a user gave, recovered from a stored variant (for update and deploy). */
function inputOf(v: StoredVariant): VariantInput {
  const { resolved: _r, ...rest } = v;
  return rest;
}

/**
 * The endpoint service on the embedded platform. The database only ever holds a configuration that
 * has loaded: an update starts the new workers first, stores the configuration (bumping the
 * generation other servers watch), then switches traffic and drains the old workers.
 */
export class LocalEndpointService implements EndpointService {
  constructor(private readonly deps: LocalEndpointServiceDeps) {}

  private async resolveVariants(input: EndpointConfigInput): Promise<StoredConfig> {
    const config = compileEndpointConfig(input);
    const resolve = (ref: string) => this.deps.models.resolve(ref);
    const variants = await Promise.all(
      config.variants.map(async (v): Promise<StoredVariant> => {
        // A multi-model variant pins nothing: its models resolve per request, so `resolved` names the source with version 0.
        if (v.multiModel) return { ...v, resolved: multiModelResolved(v.multiModel.source) };
        const resolved = await resolve(v.model);
        if (!v.pipeline) return { ...v, resolved };
        // Each model stage pins its own version, as a variant's model does.
        const pipeline = await Promise.all(v.pipeline.map(async (st) => (st.model ? { ...st, resolved: await resolve(st.model) } : st)));
        return { ...v, pipeline, resolved };
      }),
    );
    return { variants, dataCapture: config.dataCapture, trafficPolicy: config.trafficPolicy };
  }

  private async withLive(endpoint: Endpoint): Promise<Endpoint> {
    const live = this.deps.host.liveState(endpoint.name);
    return { ...endpoint, variants: endpoint.variants.map((v) => (live.has(v.name) ? { ...v, live: live.get(v.name)! } : v)) };
  }

  /** The approval gate for the variants a change introduces; the override's records when one was used. */
  private async gate(name: string, config: StoredConfig, current: StoredConfig | undefined, ctx: ServingActionContext, actor: string): Promise<StoredConfig> {
    const override = ctx.allowUnapproved ? { actor, reason: overrideReason(ctx.allowUnapproved.reason) } : undefined;
    // Multi-model variants check approval per target model when it loads.
    const single = (vs: readonly StoredVariant[]) => vs.filter((v) => !v.multiModel);
    const added = await checkApprovals(name, single(config.variants), single(current?.variants ?? []), (m) => this.deps.models.approval(m), override);
    for (const o of added) this.deps.logger.warn({ endpoint: name, actor, model: o.model, version: o.version, approval: o.approval, reason: o.reason }, 'deploying a version that is not approved');
    const trail = appendOverrides(current?.approvalOverrides, added);
    return trail.length > 0 ? { ...config, approvalOverrides: trail } : config;
  }

  async create(name: string, input: EndpointConfigInput, ctx: ServingActionContext = {}): Promise<Endpoint> {
    assertName(name, 'endpoint name');
    const actor = ctx.actor ?? defaultActor();
    const config = await this.gate(name, await this.resolveVariants(input), undefined, ctx, actor);
    // The row claims the name while the models load; a create that fails removes it again.
    const created = await this.deps.store.insert(name, 'Creating', config, actor);
    this.deps.logger.info({ endpoint: name, actor, variants: config.variants.map((v) => `${v.name}=${v.resolved.name}/${v.resolved.version}`) }, 'creating endpoint');
    try {
      const prepared = await this.deps.host.prepare(name, config.variants);
      await this.deps.store.setStatus(name, 'InService', null);
      // Inside a unit of work (a repository sync) traffic switches only once the new configuration has committed.
      await this.deps.store.afterCommit(() => this.deps.host.activate({ ...created, status: 'InService' }, prepared));
    } catch (err) {
      this.deps.logger.warn({ err, endpoint: name }, 'endpoint failed to start; removing it');
      await this.deps.host.remove(name);
      await this.deps.store.delete(name);
      throw loadFailure(name, err);
    }
    return this.describe(name);
  }

  async update(name: string, input: UpdateEndpointInput, ctx: ServingActionContext = {}): Promise<Endpoint> {
    const current = await this.deps.store.get(name);
    if (current.status === 'Creating' || current.status === 'Updating') {
      throw new CapstanError('CAPSTAN_DB_CONFLICT', `endpoint ${name} is ${current.status}; wait until it is InService or Failed`, { fields: { endpoint: name, endpointStatus: current.status } });
    }
    if (!input.variants && !input.weights && !input.dataCapture && !input.trafficPolicy) {
      throw new CapstanError('CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID', 'nothing to update: give variants, weights, dataCapture or trafficPolicy');
    }
    let config: StoredConfig;
    if (input.variants) {
      config = await this.resolveVariants({ variants: input.variants, dataCapture: input.dataCapture ?? current.dataCapture, trafficPolicy: input.trafficPolicy ?? current.trafficPolicy });
    } else {
      // Weights and capture only: keep each variant's pinned version, so no model is reloaded.
      const compiled = compileEndpointConfig({ variants: current.variants.map(inputOf), dataCapture: input.dataCapture ?? current.dataCapture, trafficPolicy: input.trafficPolicy ?? current.trafficPolicy });
      config = { variants: compiled.variants.map((v, i) => ({ ...v, resolved: current.variants[i].resolved })), dataCapture: compiled.dataCapture, trafficPolicy: compiled.trafficPolicy };
    }
    if (input.weights) {
      for (const [variant, weight] of Object.entries(input.weights)) {
        const v = config.variants.find((x) => x.name === variant);
        if (!v) throw new CapstanError('CAPSTAN_SERVING_VARIANT_NOT_FOUND', `endpoint ${name} has no variant ${variant}`, { fields: { endpoint: name, variant } });
        if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) throw new CapstanError('CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID', `weight of ${variant} must be a number >= 0`);
        v.weight = weight;
      }
      if (config.variants.every((v) => v.weight === 0)) throw new CapstanError('CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID', 'at least one variant needs a weight above 0');
    }
    const actor = ctx.actor ?? defaultActor();
    config = await this.gate(name, config, { variants: current.variants, dataCapture: current.dataCapture, trafficPolicy: current.trafficPolicy, approvalOverrides: current.approvalOverrides }, ctx, actor);
    this.deps.logger.info({ endpoint: name, actor, variants: config.variants.map((v) => `${v.name}=${v.resolved.name}/${v.resolved.version}@${v.weight}`) }, 'updating endpoint');
    const wasFailed = current.status === 'Failed';
    await this.deps.store.setStatus(name, wasFailed ? 'Creating' : 'Updating', null);
    let prepared;
    try {
      prepared = await this.deps.host.prepare(name, config.variants);
    } catch (err) {
      await this.deps.store.setStatus(name, wasFailed ? 'Failed' : 'InService', wasFailed ? reasonOf(err) : `the last update did not apply: ${reasonOf(err)}`);
      throw loadFailure(name, err);
    }
    let updated: Endpoint;
    try {
      updated = await this.deps.store.replaceConfig(name, current.generation, config, 'InService', actor);
    } catch (err) {
      await this.deps.host.discard(prepared);
      throw err;
    }
    await this.deps.store.afterCommit(() => this.deps.host.activate(updated, prepared));
    return this.withLive(updated);
  }

  async describe(name: string): Promise<Endpoint> {
    return this.withLive(await this.deps.store.get(name));
  }

  async list(): Promise<Endpoint[]> {
    return Promise.all((await this.deps.store.list()).map((e) => this.withLive(e)));
  }

  async delete(name: string, ctx: ServingActionContext = {}): Promise<void> {
    if (!(await this.deps.store.delete(name, ctx.actor ?? defaultActor()))) {
      throw new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_FOUND', `no endpoint ${name}`, { fields: { endpoint: name } });
    }
    this.deps.logger.info({ endpoint: name, actor: ctx.actor ?? defaultActor() }, 'endpoint deleted');
    await this.deps.store.afterCommit(() => this.deps.host.remove(name));
    // A new endpoint of the same name starts with no history: this process's last counts go in first
    // so they are deleted too (another process may still add a last flush; pruning removes it).
    await this.deps.statsBoard.flushQuietly();
    await this.deps.stats.forget(name).catch((err) => this.deps.logger.warn({ err, endpoint: name }, 'could not delete the statistics of a deleted endpoint'));
  }

  async variantStats(name: string, options: VariantStatsOptions = {}): Promise<EndpointStats> {
    const endpoint = await this.deps.store.get(name);
    return this.deps.statsBoard.read(name, endpoint.variants.map((v) => v.name), options);
  }

  async models(name: string): Promise<EndpointModels> {
    await this.deps.store.get(name);
    await this.deps.host.ensure(name);
    return { endpoint: name, variants: this.deps.host.multiModelState(name) };
  }

  async invoke(name: string, body: string, options: InvokeOptions = {}): Promise<InvokeResult> {
    const out = await this.deps.host.invoke(name, {
      body,
      contentType: options.contentType ?? 'application/json',
      targetVariant: options.targetVariant,
      ...(options.targetModel !== undefined ? { targetModel: options.targetModel } : {}),
      stickyKey: options.stickyKey,
      inferenceId: options.inferenceId,
      customAttributes: options.customAttributes,
    });
    return { variant: out.variant, contentType: out.contentType, body: bodyText(out.body), ...(out.model !== undefined ? { model: out.model } : {}) };
  }

  async deploy(name: string, modelRef: string, options: DeployOptions = {}, ctx: ServingActionContext = {}): Promise<DeployResult> {
    assertName(name, 'endpoint name');
    const { variant, dataCapture, ...settings } = options;
    const model = await this.deps.models.resolve(modelRef);
    const current = await this.deps.store.find(name);
    if (!current) {
      const endpoint = await this.create(name, { variants: [{ ...settings, name: variant ?? 'primary', model: modelRef }], dataCapture }, ctx);
      return { action: 'created', endpoint, model };
    }
    const previous = current.variants.map((v) => v.resolved);
    const base = current.variants.find((v) => v.name === variant) ?? (current.variants.length === 1 ? current.variants[0] : undefined);
    const variantName = variant ?? base?.name ?? 'primary';
    const next: VariantInput = { ...(base ? inputOf(base) : {}), ...settings, name: variantName, model: `models:/${model.name}/${model.version}`, weight: 1 };
    const sameModel = current.status === 'InService' && current.variants.length === 1 && base && base.resolved.digest === model.digest && base.resolved.version === model.version && Object.keys(settings).length === 0 && !dataCapture;
    if (sameModel) return { action: 'unchanged', endpoint: await this.describe(name), previous, model };
    // A deploy replaces every variant with the one new model: blue/green for the whole endpoint.
    const endpoint = await this.update(name, { variants: [next], ...(dataCapture ? { dataCapture } : {}) }, ctx);
    return { action: 'updated', endpoint, previous, model };
  }
}
