import type { Logger } from '../../core/logger.js';
import type { RegistryService } from '../../registry/index.js';
import type { ArtifactStore } from '../../storage/artifacts/artifact-store.js';
import type { StepDefinition } from '../definition.js';
import type { ExecutionWork, StepOutput, StepRecord } from '../execution.js';
import type { StepExecutor } from '../executor/step-executor.js';
import type { StepGraph } from '../graph.js';
import type { ReferenceScope } from '../references.js';

/** What a deploy step asks of the serving context. */
export interface DeployRequest {
  endpoint: string;
  model: string;
  version?: number;
  alias?: string;
  config: Record<string, unknown>;
  /** For the serving context's audit trail. */
  actor: string;
  executionId: string;
  step: string;
  /** The step's `timeout`: how long a deploy with a policy waits for the deployment's outcome. */
  timeoutMs?: number;
  /** Aborted when the execution is cancelled: stop waiting. */
  signal?: AbortSignal;
  /** Writes a line to the step's log. */
  log?(line: string): void;
}

/** Creates or updates an endpoint; the serving context provides one and registers it on the platform. */
export interface PipelineDeployer {
  deploy(request: DeployRequest): Promise<Record<string, unknown>>;
}

/** What a step's `features:` input asks of the feature store. */
export interface StepTrainingSetRequest {
  /** Entity table: a URI or key in the artifact store. */
  entities: string;
  features: string[];
  /** Artifact key to write the set to. */
  outKey: string;
  format: 'parquet' | 'csv';
  asOfKnownTime: boolean;
  timestampColumn: string;
}

/** What the feature store answers: where the set is and its digest, recorded as the step's lineage. */
export interface StepTrainingSet {
  uri: string;
  key: string;
  digest: string;
  rows: number;
  features: Array<{ feature: string; column: string; nulls: number; expired: number }>;
}

/** Builds point-in-time training sets for steps; the features context provides one and registers it on the platform. */
export interface PipelineFeatureProvider {
  trainingSet(request: StepTrainingSetRequest): Promise<StepTrainingSet>;
}

/** Services step handlers use; registry, deployer and features are absent until their contexts are installed. */
/** What a transform step asks of the batch context. */
export interface TransformRequest {
  /** `models:/<name>/<version>` or `models:/<name>@<alias>`. */
  model: string;
  input: string;
  output: string;
  config: Record<string, unknown>;
  actor: string;
  /** The same execution, step and attempt give the same batch job (a resumed attempt follows it instead of starting another). */
  clientToken: string;
  signal: AbortSignal;
  log(line: string): void;
}

/** Runs a batch transform job to its end; the batch context provides one. */
export interface PipelineTransformer {
  transform(request: TransformRequest): Promise<Record<string, unknown>>;
}

/** Services step handlers use; registry and deployer are absent until their contexts are installed. */
export interface StepServices {
  artifacts: ArtifactStore;
  executors: Map<string, StepExecutor>;
  registry?: () => RegistryService | undefined;
  deployer?: () => PipelineDeployer | undefined;
  features?: () => PipelineFeatureProvider | undefined;
  transformer?: () => PipelineTransformer | undefined;
  logger: Logger;
}

/** One attempt of one step, as a handler sees it. */
export interface StepInvocation {
  work: ExecutionWork;
  graph: StepGraph;
  /** The step with every reference resolved. */
  step: StepDefinition;
  attempt: number;
  scope: ReferenceScope;
  /** Finished step records of this execution by name (for metrics and lineage). */
  finished: Map<string, StepRecord>;
  signal: AbortSignal;
  log(stream: 'stdout' | 'stderr' | 'system', line: string): void;
  /** Records the process group of the attempt's child process (a restart stops it when orphaned). */
  onSpawn?(pgid: number): void;
  /** Records the registry run the attempt keeps (a restart closes it when the attempt died). */
  onRun?(runId: string): Promise<void>;
  /** Resolves while the attempt still holds its tokens; rejects with CAPSTAN_PIPELINE_LEASE_LOST otherwise. */
  stillCurrent?(): Promise<void>;
}

/** What a successful attempt produced. */
export interface StepOutcome {
  outputs: Record<string, StepOutput>;
  properties: Record<string, unknown>;
  metrics: Record<string, number>;
  warnings: string[];
  /** Condition steps: the branch taken. */
  branch?: 'then' | 'else';
}

/** Runs one step type; throws a CapstanError on failure (`fields.retryable === false` stops retries). */
export type StepHandler = (inv: StepInvocation, services: StepServices) => Promise<StepOutcome>;

/** An outcome with nothing in it. */
export function emptyOutcome(): StepOutcome {
  return { outputs: {}, properties: {}, metrics: {}, warnings: [] };
}
