import path from 'node:path';
import { CapstanError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { RegistryService } from '../registry/index.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { Database } from '../storage/database.js';
import { inputKey } from './artifact-digest.js';
import { snapshotCode } from './code-snapshot.js';
import { isCommandStep, type PipelineDefinition, type TriggerDefinition } from './definition.js';
import type { ExecutionRecord, ExecutionState, ExecutionTrigger, LogLine, PipelineRecord } from './execution.js';
import { ExecutionRunner } from './execution-runner.js';
import { LocalExecutor, type LocalExecutorOptions } from './executor/local-executor.js';
import type { StepExecutor } from './executor/step-executor.js';
import { LogFollower, LogStore, type LogSearch } from './log-store.js';
import { compileParams } from './parameters.js';
import { parsePipelineYaml, type PipelineSource } from './pipeline-source.js';
import { PipelineScheduler, type SchedulerOptions } from './scheduler.js';
import { SqlPipelineStore } from './sql-pipeline-store.js';
import type { PipelineDeployer, PipelineFeatureProvider, PipelineTransformer, StepServices } from './steps/step-handler.js';
import { TriggerStore, type TriggerRecord } from './triggers/trigger-store.js';
import { TriggerWatcher, type TriggerWatcherOptions } from './triggers/trigger-watcher.js';
import { WebhookDeliveryStore } from './triggers/webhook-delivery-store.js';
import { WebhookReceiver } from './triggers/webhook-receiver.js';
import { compilePipeline } from './validate.js';

/** Options of the pipelines context; every field has a default. */
export interface PipelinesOptions {
  scheduler?: SchedulerOptions;
  local?: LocalExecutorOptions;
  triggers?: TriggerWatcherOptions;
  /** Settings the Kubernetes executor lacks, named when a definition with a kubernetes step is refused; default none. */
  kubernetesMissing?: string[];
}

/** Result of applying a definition. */
export interface ApplyResult {
  pipeline: PipelineRecord;
  /** False when the stored definition and code were already identical. */
  changed: boolean;
  /** Secrets of newly created webhook triggers, shown only now. */
  webhookSecrets: Record<string, string>;
}

/** A pipeline with its triggers, as `describe` shows it. */
export interface PipelineDescription extends PipelineRecord {
  triggers: TriggerRecord[];
  lastExecution: ExecutionRecord | null;
}

/** Input for starting an execution. */
export interface RunInput {
  params?: Record<string, unknown>;
  trigger?: ExecutionTrigger;
}

/** Dependencies of the service. */
export interface PipelinesDeps {
  db: Database;
  artifacts: ArtifactStore;
  logger: Logger;
  events?: EventBus;
  /** Looked up lazily: the registry context may be wired after pipelines. */
  registry?: () => RegistryService | undefined;
}

/**
 * The pipelines context: validate and apply definitions, start and follow executions, read and
 * search step logs. The scheduler (a background service) runs executions; `wait` runs one in this
 * process when nobody else holds it, which is how `capstan pipeline run --wait` works without a server.
 */
export class PipelineService {
  readonly store: SqlPipelineStore;
  readonly logs: LogStore;
  readonly triggers: TriggerStore;
  /** Starts executions from signed webhooks, at most once per delivery. */
  readonly webhooks: WebhookReceiver;
  readonly scheduler: PipelineScheduler;
  /** Fires cron and artifact-arrival triggers (a background service). */
  readonly triggerWatcher: TriggerWatcher;
  readonly executors = new Map<string, StepExecutor>();
  private deployer: PipelineDeployer | undefined;
  private featureProvider: PipelineFeatureProvider | undefined;
  private transformer: PipelineTransformer | undefined;

  constructor(private readonly deps: PipelinesDeps, private readonly options: PipelinesOptions = {}) {
    this.store = new SqlPipelineStore(deps.db);
    this.logs = new LogStore(deps.db);
    this.triggers = new TriggerStore(deps.db);
    this.webhooks = new WebhookReceiver({
      triggers: this.triggers,
      deliveries: new WebhookDeliveryStore(deps.db),
      getPipeline: (name) => this.store.getPipeline(name),
      start: (name, input) => this.start(name, input),
    });
    this.executors.set('local', new LocalExecutor(deps.artifacts, options.local));
    const services: StepServices = {
      artifacts: deps.artifacts,
      executors: this.executors,
      registry: deps.registry,
      deployer: () => this.deployer,
      features: () => this.featureProvider,
      transformer: () => this.transformer,
      logger: deps.logger,
    };
    this.scheduler = new PipelineScheduler(
      this.store,
      (owner, leaseMs) => new ExecutionRunner(this.store, this.logs, services, { owner, leaseMs, events: deps.events }),
      deps.logger,
      options.scheduler,
    );
    this.triggerWatcher = new TriggerWatcher(
      { listPipelines: () => this.store.listPipelines(), start: (name, input) => this.start(name, input) },
      this.triggers,
      deps.artifacts,
      deps.logger,
      options.triggers,
    );
  }

  /** Installs the feature store used by steps with a `features:` input. */
  setFeatureProvider(provider: PipelineFeatureProvider | undefined): void {
    this.featureProvider = provider;
  }

  /** Installs the serving context's deployer used by deploy steps. */
  setDeployer(deployer: PipelineDeployer | undefined): void {
    this.deployer = deployer;
  }

  /** Installs the batch context's transformer used by transform steps. */
  setTransformer(transformer: PipelineTransformer | undefined): void {
    this.transformer = transformer;
  }

  /** Adds an executor (e.g. a Kubernetes Job executor) steps can name with `executor:`. */
  registerExecutor(executor: StepExecutor): void {
    this.executors.set(executor.name, executor);
  }

  /** Validates a parsed document; throws CAPSTAN_PIPELINE_INVALID listing every issue. */
  validate(source: PipelineSource): PipelineDefinition {
    return compilePipeline(source);
  }

  /** Validates YAML text (the API's entry point). */
  validateYaml(text: string, file = 'pipeline.yaml'): PipelineDefinition {
    return compilePipeline(parsePipelineYaml(text, file));
  }

  /**
   * A new artifact trigger fires for objects that arrive after it exists: what is under its prefix
   * now is recorded as seen. Comparing object times with the trigger's creation time instead would
   * lose objects written in the same second, as S3 keeps only whole seconds. Done before the trigger
   * row exists, so a crash in between leaves nothing that could fire on old objects.
   */
  private async baselineNewArtifactTriggers(def: PipelineDefinition): Promise<void> {
    const existing = new Set((await this.triggers.list(def.name)).map((t) => `${t.type}:${t.name}`));
    for (const t of def.triggers) {
      if (t.type !== 'artifact' || existing.has(`artifact:${t.name}`)) continue;
      const objects = await this.deps.artifacts.list(inputKey(this.deps.artifacts, t.prefix));
      await this.triggers.markAllSeen(def.name, t.name, objects);
    }
  }

  /**
   * Validates and stores a definition; its code directory (when it names one) is snapshotted into
   * the artifact store. Re-applying an unchanged pipeline changes nothing.
   */
  async apply(source: PipelineSource): Promise<ApplyResult> {
    // Everything that can refuse the definition runs before anything is stored: a bad file leaves the applied version as it was.
    const def = compilePipeline(source);
    if (!def.code && def.steps.some((s) => s.type === 'function')) {
      throw new CapstanError('CAPSTAN_PIPELINE_INVALID', `${source.file} code: function steps load their module from the "code" directory; set "code"`);
    }
    this.checkExecutors(source.file, def);
    let code: { prefix: string; digest: string } | undefined;
    if (def.code) code = await snapshotCode(this.deps.artifacts, def.name, source.codeDir ?? path.resolve(source.baseDir, def.code), def.code);
    const { record, changed } = await this.store.upsertPipeline(def, source.text ?? null, code?.prefix ?? null, code?.digest ?? null);
    await this.baselineNewArtifactTriggers(def);
    const webhookSecrets = await this.triggers.sync(def.name, def.triggers);
    return { pipeline: record, changed, webhookSecrets };
  }

  /**
   * Adds or replaces one trigger of an applied pipeline without touching its steps or code (a
   * standalone `kind: Trigger` document); secrets of a new webhook trigger are returned once.
   */
  async setTrigger(name: string, trigger: TriggerDefinition): Promise<{ changed: boolean; webhookSecrets: Record<string, string> }> {
    const p = await this.store.getPipeline(name);
    const def: PipelineDefinition = { ...p.definition, triggers: [...p.definition.triggers.filter((t) => t.name !== trigger.name), trigger] };
    const { changed } = await this.store.upsertPipeline(def, p.source, p.codePrefix, p.codeDigest);
    await this.baselineNewArtifactTriggers(def);
    return { changed, webhookSecrets: await this.triggers.sync(name, def.triggers) };
  }

  /** Removes one trigger of an applied pipeline (a no-op when it has none of that name). */
  async removeTrigger(name: string, trigger: string): Promise<void> {
    const p = await this.store.getPipeline(name);
    if (!p.definition.triggers.some((t) => t.name === trigger)) return;
    const def: PipelineDefinition = { ...p.definition, triggers: p.definition.triggers.filter((t) => t.name !== trigger) };
    await this.store.upsertPipeline(def, p.source, p.codePrefix, p.codeDigest);
    await this.triggers.sync(name, def.triggers);
  }

  /** Refuses a definition whose steps name an executor this platform lacks, saying what is missing. */
  private checkExecutors(file: string, def: PipelineDefinition): void {
    for (const step of def.steps) {
      if (!isCommandStep(step) || this.executors.has(step.executor)) continue;
      if (step.executor === 'kubernetes') {
        const missing = this.options.kubernetesMissing?.length ? this.options.kubernetesMissing : ['the Kubernetes executor'];
        throw new CapstanError('CAPSTAN_K8S_NOT_CONFIGURED', `${file} step "${step.name}" runs on kubernetes, but this platform has no cluster configured; missing: ${missing.join(', ')}`, { fields: { step: step.name, missing } });
      }
      throw new CapstanError('CAPSTAN_PIPELINE_EXECUTOR_UNKNOWN', `${file} step "${step.name}" names executor "${step.executor}"; known: ${[...this.executors.keys()].join(', ')}`, { fields: { step: step.name } });
    }
  }

  /** Every applied pipeline. */
  list(): Promise<PipelineRecord[]> {
    return this.store.listPipelines();
  }

  /** One pipeline with its triggers and latest execution. */
  async describe(name: string): Promise<PipelineDescription> {
    const p = await this.store.getPipeline(name);
    const [last] = await this.store.listExecutions({ pipeline: name, limit: 1 });
    return { ...p, triggers: await this.triggers.list(name), lastExecution: last ?? null };
  }

  /** Deletes a pipeline definition; its executions and logs stay. */
  async delete(name: string): Promise<void> {
    await this.store.deletePipeline(name);
    await this.triggers.sync(name, []);
  }

  /** Queues an execution with parameter overrides; the scheduler (or `wait`) runs it. */
  async start(name: string, input: RunInput = {}): Promise<ExecutionRecord> {
    const pipeline = await this.store.getPipeline(name);
    const params = compileParams(pipeline.definition, input.params);
    const exec = await this.store.createExecution({ id: newId('exe'), pipeline, params, trigger: input.trigger ?? { type: 'manual', by: 'unknown' } });
    this.scheduler.nudge();
    return exec;
  }

  /** Runs an execution here when nobody else holds it, otherwise waits; resolves when it ends. */
  wait(id: string): Promise<ExecutionRecord> {
    return this.scheduler.runNow(id);
  }

  /** One execution with its steps. */
  execution(id: string): Promise<ExecutionRecord> {
    return this.store.getExecution(id);
  }

  /** Executions, newest first. */
  executions(filter: { pipeline?: string; state?: ExecutionState; limit?: number } = {}): Promise<ExecutionRecord[]> {
    return this.store.listExecutions(filter);
  }

  /** Requests cancellation; running steps are stopped, pending ones marked cancelled. */
  cancel(id: string): Promise<ExecutionRecord> {
    return this.store.requestCancel(id);
  }

  /** An execution's stored log lines (at most `limit`, default 10,000, up to 100,000). */
  async executionLogs(id: string, filter: { step?: string; attempt?: number; limit?: number } = {}): Promise<LogLine[]> {
    await this.store.getExecution(id);
    return this.logs.read(id, filter);
  }

  /** A follower returning new lines of an execution on each call (SSE, `capstan logs --follow`). */
  follow(id: string, step?: string): LogFollower {
    return new LogFollower(this.logs, id, step);
  }

  /** Searches log lines across executions. */
  searchLogs(search: LogSearch): Promise<LogLine[]> {
    return this.logs.search(search);
  }

  /** Stops the scheduler and the executors. */
  async close(): Promise<void> {
    await this.triggerWatcher.stop();
    await this.scheduler.stop();
    for (const e of this.executors.values()) await e.close?.();
  }
}
