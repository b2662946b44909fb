import { CapstanError } from '../core/errors.js';
import type { DomainEvent, EventBus } from '../core/events.js';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { assertOutboundUrl, type OutboundSettings } from '../core/outbound-guard.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { appendEvent } from '../storage/outbox/index.js';
import { compileApprovalPolicy, evaluateApprovalPolicy } from './approval-policy.js';
import { buildComparison, checkColumns } from './comparison.js';
import { ExperimentTracking, localActor } from './experiment-tracking.js';
import { pullVerifiedVersion } from './model-package.js';
import { assertAlias, assertModelName, assertVersionNumber, parseModelRef } from './model-ref.js';
import { registrationOwner } from './package-reconciler.js';
import { openPackageSource, readStoredPackage } from './package-source.js';
import type { RegistrationPause } from './registration-pause.js';
import {
  APPROVAL_STATUSES,
  type ActionContext,
  type RegistryService,
  type ApprovalInput,
  type ApprovalPolicy,
  type ArtifactFile,
  type AuditEvent,
  type AuditLogFilter,
  type AuditPage,
  AUDIT_ACTIONS,
  type Comparison,
  type CompareVersionsInput,
  type CreateWebhookInput,
  type CreatedWebhook,
  type HistoryFilter,
  type Lineage,
  type ModelGroup,
  type ModelGroupInput,
  type ModelVersion,
  type PullResult,
  type RegisterVersionInput,
  type RegistryEventType,
  type VersionFilter,
  type Webhook,
} from './registry-service.js';
import type { ModelGroupRow, ModelVersionRow } from './registry-tables.js';
import type { SqlExperimentStore } from './sql-experiment-store.js';
import type { SqlRunSearch } from './sql-run-search.js';
import { metricMap, stringMap } from './run-inputs.js';
import { SqlRegistryStore, toAuditEvent, versionNotFound, toModelGroup, toModelVersion, type RegistryQuery } from './sql-registry-store.js';
import type { SqlWebhookStore } from './sql-webhook-store.js';

/** What the local registry is built from; `createRegistry` fills it from the platform. */
export interface RegistryDeps {
  store: SqlRegistryStore;
  webhooks: SqlWebhookStore;
  artifacts: ArtifactStore;
  events: EventBus;
  outbound: OutboundSettings;
  logger: Logger;
  experiments: SqlExperimentStore;
  /** The console's run searches and downsampled metric series. */
  runSearch: SqlRunSearch;
  /** Test only: stops a registration at a named point (`registry.testPauseAt`); default none. */
  pause?: RegistrationPause;
}

function checkText(value: unknown, what: string, max: number): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string' || value.length > max) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `${what} must be text of at most ${max} characters`);
  return value;
}

function checkLineage(input: unknown): Lineage {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'lineage must be an object');
  const l = input as Lineage;
  const out: Lineage = {};
  for (const k of ['runId', 'pipelineExecutionId', 'pipelineStep', 'codeDigest', 'repository', 'commit'] as const) {
    if (l[k] !== undefined) out[k] = checkText(l[k], `lineage.${k}`, 200);
  }
  if (l.datasetDigests !== undefined) out.datasetDigests = stringMap(l.datasetDigests, 'dataset digest', 200);
  return out;
}

/**
 * The registry on the embedded platform. Every state change writes its audit record and appends its
 * domain event to the outbox in the same transaction (webhooks are one outbox subscriber), then
 * publishes the event on the in-process bus once the transaction has committed.
 */
export class LocalRegistry extends ExperimentTracking implements RegistryService {
  private readonly store: SqlRegistryStore;

  constructor(private readonly deps: RegistryDeps) {
    super(deps.experiments, deps.artifacts, deps.runSearch);
    this.store = deps.store;
  }

  // ---- model groups ----

  private async group(name: string, t?: RegistryQuery): Promise<ModelGroupRow> {
    return this.store.groupRow(assertModelName(name), t);
  }

  private async view(row: ModelGroupRow): Promise<ModelGroup> {
    return toModelGroup(row, await this.store.aliases(row.id));
  }

  /** @inheritdoc */
  async createModel(name: string, input: ModelGroupInput = {}): Promise<ModelGroup> {
    assertModelName(name);
    const description = checkText(input.description, 'description', 5000);
    const tags = stringMap(input.tags, 'tag', 5000);
    const created = await this.store.transaction((t) => this.store.insertGroup(t, name, description, tags));
    if (!created) throw new CapstanError('CAPSTAN_REGISTRY_MODEL_EXISTS', `model ${name} already exists`, { fields: { modelName: name } });
    return this.getModel(name);
  }

  /** @inheritdoc */
  async listModels(): Promise<ModelGroup[]> {
    return Promise.all((await this.store.groupRows()).map((r) => this.view(r)));
  }

  /** @inheritdoc */
  async getModel(name: string): Promise<ModelGroup> {
    return this.view(await this.group(name));
  }

  /** @inheritdoc */
  async updateModel(name: string, input: ModelGroupInput): Promise<ModelGroup> {
    const row = await this.group(name);
    const set: { description?: string; tags?: string } = {};
    if (input.description !== undefined) set.description = checkText(input.description, 'description', 5000);
    if (input.tags !== undefined) set.tags = JSON.stringify(stringMap(input.tags, 'tag', 5000));
    await this.store.transaction((t) => this.store.updateGroup(t, row.id, set));
    return this.getModel(name);
  }

  /** @inheritdoc */
  async setApprovalPolicy(name: string, policy: ApprovalPolicy | null, ctx: ActionContext = {}): Promise<ModelGroup> {
    const row = await this.group(name);
    const compiled = policy === null ? null : compileApprovalPolicy(policy);
    await this.store.transaction(async (t) => {
      await this.store.updateGroup(t, row.id, { approval_policy: compiled ? JSON.stringify(compiled) : null });
      const before = row.approval_policy ? (JSON.parse(row.approval_policy) as ApprovalPolicy).autoApprove : null;
      await this.store.audit(t, row.id, { version: null, action: 'policy.changed', actor: ctx.actor ?? localActor(), from: before, to: compiled?.autoApprove ?? null });
    });
    return this.getModel(name);
  }

  // ---- versions ----

  private async versionView(group: ModelGroupRow, row: ModelVersionRow): Promise<ModelVersion> {
    return toModelVersion(group.name, row, await this.store.aliases(group.id));
  }

  private event(type: RegistryEventType, data: Record<string, unknown>): DomainEvent {
    return { id: newId('evt'), type, time: new Date().toISOString(), data };
  }

  private async append(t: RegistryQuery, e: DomainEvent): Promise<void> {
    const d = e.data as { model: string; version: number };
    await appendEvent(t, { id: e.id, type: e.type, subject: `models/${d.model}/${d.version}`, data: e.data, occurredAt: Date.parse(e.time) });
  }

  private async publish(events: DomainEvent[]): Promise<void> {
    for (const e of events) await this.deps.events.publish(e);
  }

  private eventData(name: string, row: ModelVersionRow, actor: string): Record<string, unknown> {
    return { model: name, version: Number(row.version), approval: row.approval, artifactUri: row.artifact_uri, digest: row.digest, framework: row.framework, actor };
  }

  /** @inheritdoc */
  async registerVersion(name: string, input: RegisterVersionInput, ctx: ActionContext = {}): Promise<ModelVersion> {
    assertModelName(name);
    const actor = ctx.actor ?? localActor();
    if (!input || typeof input !== 'object') throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'the version input must be an object');
    let metrics = metricMap(input.metrics);
    let params = stringMap(input.params, 'param');
    const tags = stringMap(input.tags, 'tag', 5000);
    const description = checkText(input.description, 'description', 5000);
    const lineage = checkLineage(input.lineage);
    if (lineage.runId) {
      // A version registered from a run inherits the run's latest metrics, params and pipeline link.
      const run = await this.runs.getRun(lineage.runId);
      metrics = { ...run.metrics, ...metrics };
      params = { ...run.params, ...params };
      lineage.pipelineExecutionId ??= run.pipelineExecutionId ?? undefined;
      lineage.pipelineStep ??= run.pipelineStep ?? undefined;
    }
    const source = await openPackageSource(this.deps.artifacts, input, this.deps.pause);
    // The registration row says which process copies the package, so a restart after a crash removes
    // the folder of a dead registration and never one still being copied (package-reconciler.ts).
    const { modelId, version, registrationId } = await this.store.reserveVersion(name, registrationOwner);
    const dest = `models/${name}/${version}/`;
    let stored;
    try {
      await this.deps.pause?.('reserved');
      stored = await readStoredPackage(this.deps.artifacts, dest, await source.copyTo(dest));
      await this.deps.pause?.('uploaded');
    } catch (err) {
      await this.deps.artifacts
        .deletePrefix(dest)
        .then(() => this.store.transaction((t) => this.store.endRegistration(t, registrationId)))
        .catch((cleanupErr) => this.deps.logger.warn({ err: cleanupErr }, 'could not remove the package of a failed registration; a restart removes it'));
      throw err;
    }
    const events = await this.store.transaction(async (t) => {
      await this.store.endRegistration(t, registrationId);
      await this.store.insertVersion(t, {
        model_id: modelId,
        version,
        artifact_uri: stored.uri,
        digest: stored.digest,
        framework: stored.manifest.framework,
        signature: JSON.stringify(stored.manifest.signature),
        metrics: JSON.stringify(metrics),
        params: JSON.stringify(params),
        tags: JSON.stringify(tags),
        description,
        lineage: JSON.stringify(lineage),
        run_id: lineage.runId ?? null,
        created_by: actor,
      });
      await this.store.audit(t, modelId, { version, action: 'version.created', actor, to: 'PendingManualApproval', comment: description.slice(0, 200) });
      const group = await this.store.groupRow(name, t);
      let row = await this.store.versionRow(t, group, version);
      const out = [this.event('model_version.created', this.eventData(name, row, actor))];
      if (group.approval_policy) {
        const policy = JSON.parse(group.approval_policy) as ApprovalPolicy;
        const outcome = evaluateApprovalPolicy(policy, { metrics, params, tags });
        const system = 'system:approval-policy';
        await this.store.audit(t, modelId, { version, action: 'policy.evaluated', actor: system, to: outcome.approve ? 'Approved' : null, comment: outcome.reason });
        if (outcome.approve) {
          await this.store.setApproval(t, row.id, 'Approved');
          await this.store.audit(t, modelId, { version, action: 'approval.changed', actor: system, from: 'PendingManualApproval', to: 'Approved', comment: outcome.reason });
          row = await this.store.versionRow(t, group, version);
          out.push(this.event('model_version.approved', { ...this.eventData(name, row, system), from: 'PendingManualApproval', comment: outcome.reason }));
        }
      }
      for (const e of out) await this.append(t, e);
      return out;
    });
    await source.cleanup().catch((err) => this.deps.logger.warn({ err }, 'could not remove a staged upload'));
    await this.publish(events);
    return this.getVersion(name, version);
  }

  /** @inheritdoc */
  async listVersions(name: string, filter: VersionFilter = {}): Promise<ModelVersion[]> {
    const group = await this.group(name);
    if (filter.approval !== undefined && !APPROVAL_STATUSES.includes(filter.approval)) {
      throw new CapstanError('CAPSTAN_REQUEST_INVALID', `approval must be one of ${APPROVAL_STATUSES.join(', ')}`);
    }
    const aliases = await this.store.aliases(group.id);
    return (await this.store.versionRows(group, { approval: filter.approval })).map((r) => toModelVersion(group.name, r, aliases));
  }

  /** @inheritdoc */
  async getVersion(name: string, version: number): Promise<ModelVersion> {
    const group = await this.group(name);
    return this.versionView(group, await this.store.versionRow(this.store.q, group, assertVersionNumber(name, version)));
  }

  /** @inheritdoc */
  async listVersionFiles(name: string, version: number): Promise<ArtifactFile[]> {
    const v = await this.getVersion(name, version);
    const base = `${this.deps.artifacts.keyFor(v.artifactUri)}/`;
    return (await this.deps.artifacts.list(base)).map((i) => ({ path: i.key.slice(base.length), key: i.key, size: i.size, sha256: i.sha256 }));
  }

  /** @inheritdoc */
  async resolve(ref: string): Promise<ModelVersion> {
    const parsed = parseModelRef(ref);
    const group = await this.store.groupRow(parsed.name);
    if (parsed.kind === 'version') return this.versionView(group, await this.store.versionRow(this.store.q, group, parsed.version));
    if (parsed.kind === 'latest') return this.versionView(group, await this.store.latestVersionRow(group));
    const aliases = await this.store.aliases(group.id);
    const target = aliases[parsed.alias];
    if (target === undefined) {
      throw new CapstanError('CAPSTAN_REGISTRY_ALIAS_NOT_FOUND', `model ${group.name} has no alias ${parsed.alias}`, { fields: { modelName: group.name, alias: parsed.alias } });
    }
    return toModelVersion(group.name, await this.store.versionRow(this.store.q, group, target), aliases);
  }

  /** @inheritdoc */
  async setApproval(name: string, version: number, input: ApprovalInput, ctx: ActionContext = {}): Promise<ModelVersion> {
    const actor = ctx.actor ?? localActor();
    const n = assertVersionNumber(name, version);
    if (!input || !APPROVAL_STATUSES.includes(input.status)) {
      throw new CapstanError('CAPSTAN_REQUEST_INVALID', `status must be one of ${APPROVAL_STATUSES.join(', ')}`);
    }
    const comment = checkText(input.comment, 'comment', 2000);
    const events = await this.store.transaction(async (t) => {
      const group = await this.group(name, t);
      const row = await this.store.versionRow(t, group, n);
      if (row.approval === input.status) {
        throw new CapstanError('CAPSTAN_REGISTRY_APPROVAL_UNCHANGED', `model ${name} version ${n} is already ${input.status}`, { fields: { modelName: name, version: n } });
      }
      await this.store.setApproval(t, row.id, input.status);
      await this.store.audit(t, group.id, { version: n, action: 'approval.changed', actor, from: row.approval, to: input.status, comment });
      if (input.status === 'PendingManualApproval') return [];
      const type = input.status === 'Approved' ? 'model_version.approved' : 'model_version.rejected';
      const e = this.event(type, { ...this.eventData(name, { ...row, approval: input.status }, actor), from: row.approval, comment });
      await this.append(t, e);
      return [e];
    });
    await this.publish(events);
    return this.getVersion(name, n);
  }

  /** @inheritdoc */
  async setAlias(name: string, alias: string, version: number, ctx: ActionContext = {}): Promise<ModelGroup> {
    const actor = ctx.actor ?? localActor();
    assertAlias(alias);
    const n = assertVersionNumber(name, version);
    const events = await this.store.transaction(async (t) => {
      const group = await this.group(name, t);
      const row = await this.store.versionRow(t, group, n);
      const before = await this.store.upsertAlias(t, group.id, alias, n, actor);
      if (before === n) return [];
      await this.store.audit(t, group.id, { version: n, action: 'alias.set', actor, alias, from: before === null ? null : String(before), to: String(n) });
      const e = this.event('model_version.alias_set', { ...this.eventData(name, row, actor), alias, previousVersion: before });
      await this.append(t, e);
      return [e];
    });
    await this.publish(events);
    return this.getModel(name);
  }

  /** @inheritdoc */
  async deleteAlias(name: string, alias: string, ctx: ActionContext = {}): Promise<ModelGroup> {
    const actor = ctx.actor ?? localActor();
    await this.store.transaction(async (t) => {
      const group = await this.group(name, t);
      const before = await this.store.removeAlias(t, group.id, alias);
      if (before === null) throw new CapstanError('CAPSTAN_REGISTRY_ALIAS_NOT_FOUND', `model ${name} has no alias ${String(alias).slice(0, 80)}`, { fields: { modelName: name, alias: String(alias).slice(0, 80) } });
      await this.store.audit(t, group.id, { version: before, action: 'alias.deleted', actor, alias, from: String(before), to: null });
    });
    return this.getModel(name);
  }

  /** @inheritdoc */
  async history(name: string, filter: HistoryFilter = {}): Promise<AuditEvent[]> {
    const group = await this.group(name);
    const version = filter.version === undefined ? undefined : assertVersionNumber(name, filter.version);
    return (await this.store.auditRows(group.id, version)).map((r) => toAuditEvent(group.name, r));
  }

  /** @inheritdoc */
  async auditLog(filter: AuditLogFilter = {}): Promise<AuditPage> {
    const limit = filter.limit ?? 50;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 500) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'limit must be between 1 and 500');
    if (filter.action !== undefined && !AUDIT_ACTIONS.includes(filter.action)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `action must be one of ${AUDIT_ACTIONS.join(', ')}`);
    if (filter.actor !== undefined && (typeof filter.actor !== 'string' || filter.actor.length > 200)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'actor must be text of at most 200 characters');
    let after: { at: number; id: string } | undefined;
    if (filter.cursor !== undefined) {
      const m = /^(\d{1,16})\.([A-Za-z0-9_-]{1,100})$/.exec(String(filter.cursor));
      if (!m) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'cursor must be the nextCursor of a previous page');
      after = { at: Number(m[1]), id: m[2] };
    }
    const model = filter.model === undefined ? undefined : assertModelName(filter.model);
    const rows = await this.store.auditPage({ model, actor: filter.actor, action: filter.action, after, limit });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { events: page.map((r) => toAuditEvent(r.model, r)), nextCursor: rows.length > limit && last ? `${Number(last.created_at)}.${last.id}` : null };
  }

  /** @inheritdoc */
  async compareVersions(name: string, input: CompareVersionsInput = {}): Promise<Comparison> {
    const group = await this.group(name);
    const wanted = input.versions?.map((v) => assertVersionNumber(name, v));
    const rows = await this.store.versionRows(group, { versions: wanted });
    for (const v of wanted ?? []) if (!rows.some((r) => Number(r.version) === v)) throw versionNotFound(name, v);
    const aliases = await this.store.aliases(group.id);
    const versions = rows.map((r) => toModelVersion(group.name, r, aliases));
    return buildComparison(
      versions.map((v) => ({ id: `${v.name}/${v.version}`, extra: { version: v.version, approval: v.approval, aliases: v.aliases }, metrics: v.metrics, params: v.params })),
      checkColumns(input.metrics, 'metrics'),
      checkColumns(input.params, 'params'),
    );
  }

  /** @inheritdoc */
  pullVersion(ref: string, directory: string): Promise<PullResult> {
    return pullVerifiedVersion(this, ref, directory, (key) => this.deps.artifacts.stream(key));
  }

  // ---- webhooks ----

  /** @inheritdoc */
  async createWebhook(input: CreateWebhookInput, ctx: ActionContext = {}): Promise<CreatedWebhook> {
    if (!input || typeof input.url !== 'string' || input.url.length > 2000) throw new CapstanError('CAPSTAN_REGISTRY_WEBHOOK_INVALID', 'the webhook needs a url of at most 2000 characters');
    await assertOutboundUrl(input.url, this.deps.outbound, { purpose: 'webhook URL' });
    return this.deps.webhooks.create(input, ctx.actor ?? localActor());
  }

  /** @inheritdoc */
  listWebhooks(): Promise<Webhook[]> {
    return this.deps.webhooks.list();
  }

  /** @inheritdoc */
  deleteWebhook(id: string): Promise<void> {
    return this.deps.webhooks.delete(id);
  }
}

