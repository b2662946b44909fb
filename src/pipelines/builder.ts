import type { ParameterType, PipelineDefinition } from './definition.js';
import { objectSource } from './pipeline-source.js';
import { compilePipeline } from './validate.js';

/** Fields every step document shares (the YAML spelling). */
interface StepDocumentBase {
  name: string;
  description?: string;
  depends_on?: string[];
  retry?: { attempts?: number; backoff?: string | number; backoff_rate?: number; max_backoff?: string | number };
  timeout?: string | number;
  cache?: boolean;
}

/** One step as written in YAML; the builder accepts exactly the same shape. */
export type StepDocument = StepDocumentBase &
  (
    | {
        type: 'processing' | 'training' | 'evaluation';
        command?: string | string[];
        builtin?: string;
        inputs?: Record<string, string>;
        outputs?: string[];
        hyperparameters?: Record<string, string | number | boolean>;
        env?: Record<string, string>;
        executor?: string;
        metric_definitions?: { name: string; regex: string }[];
        property_files?: { name: string; output: string; path: string }[];
      }
    | { type: 'condition'; if: string; then?: string[]; else?: string[] }
    | { type: 'register-model'; model: string; model_data: string; approval?: 'PendingManualApproval' | 'Approved'; metrics_from?: string[]; metadata?: Record<string, string> }
    | { type: 'deploy'; endpoint: string; model: string; version?: string | number; alias?: string; config?: Record<string, unknown>; require_approval?: boolean }
    | { type: 'function'; module: string; handler?: string; args?: Record<string, unknown>; inputs?: Record<string, string> }
    | { type: 'fail'; message?: string }
  );

/** A trigger as written in YAML. */
export type TriggerDocument =
  | { name?: string; type: 'cron'; schedule: string; timezone?: string; params?: Record<string, unknown> }
  | { name?: string; type: 'artifact'; prefix: string; parameter: string; params?: Record<string, unknown> }
  | { name?: string; type: 'webhook'; params?: Record<string, unknown> };

/** A whole pipeline document (what `pipeline.schema.json` describes). */
export interface PipelineDocument {
  name: string;
  description?: string;
  code?: string;
  parameters?: Record<string, { type?: ParameterType; default?: string | number | boolean; description?: string }>;
  steps: StepDocument[];
  triggers?: TriggerDocument[];
}

/** Helpers that write `${…}` references without typos in the syntax. */
export const ref = {
  /** `${params.<name>}` */
  param: (name: string) => `\${params.${name}}`,
  /** `${steps.<step>.outputs.<name>}` */
  output: (step: string, name: string) => `\${steps.${step}.outputs.${name}}`,
  /** `${steps.<step>.properties.<path>}` */
  property: (step: string, path: string) => `\${steps.${step}.properties.${path}}`,
  /** `${steps.<step>.metrics.<name>}` */
  metric: (step: string, name: string) => `\${steps.${step}.metrics.${name}}`,
};

/**
 * Builds the same document a YAML file holds, in TypeScript, and validates it with the same rules:
 * `pipeline('ncf').parameter('epochs', { type: 'integer', default: 10 }).step({...}).build()`.
 */
export class PipelineBuilder {
  private readonly doc: PipelineDocument;

  constructor(name: string, private readonly baseDir = process.cwd()) {
    this.doc = { name, parameters: {}, steps: [], triggers: [] };
  }

  /** Sets the description. */
  describe(text: string): this {
    this.doc.description = text;
    return this;
  }

  /** Sets the code directory (relative to the builder's base directory). */
  code(dir: string): this {
    this.doc.code = dir;
    return this;
  }

  /** Declares a parameter. */
  parameter(name: string, spec: NonNullable<PipelineDocument['parameters']>[string]): this {
    this.doc.parameters![name] = spec;
    return this;
  }

  /** Appends a step. */
  step(step: StepDocument): this {
    this.doc.steps.push(step);
    return this;
  }

  /** Appends a trigger. */
  trigger(trigger: TriggerDocument): this {
    this.doc.triggers!.push(trigger);
    return this;
  }

  /** The plain document (YAML-equivalent), e.g. to apply through the API. */
  toDocument(): PipelineDocument {
    return structuredClone(this.doc);
  }

  /** Validates and returns the definition; throws CAPSTAN_PIPELINE_INVALID with paths. */
  build(): PipelineDefinition {
    return compilePipeline(objectSource(this.toDocument(), this.baseDir));
  }
}

/** Starts a pipeline builder. */
export function pipeline(name: string, baseDir?: string): PipelineBuilder {
  return new PipelineBuilder(name, baseDir);
}
