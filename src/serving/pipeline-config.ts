import type { CapstanError } from '../core/errors.js';
import { isValidName } from '../core/names.js';
import type { ResolvedModel } from './endpoint.js';

/** One stage of a serial inference pipeline as a user writes it: a registered model or an external URL. */
export interface PipelineStageInput {
  /** Stage name, used in errors and capture records; default `stage-<n>`. */
  name?: string;
  /** `models:/pre/1`: a registered package (js, onnx, python or http); exclusive with `url`. */
  model?: string;
  /** An external model server called with the previous stage's output (the outbound guard applies); exclusive with `model`. */
  url?: string;
  /** The stage fails with 504 naming it when slower than this; default the variant's `timeoutMs`. */
  timeoutMs?: number;
  /** Also capture this stage's input and output when the endpoint's data capture samples a request; default false. */
  capture?: boolean;
  /** Handler options of this stage's model; default none. */
  handlerOptions?: Record<string, unknown>;
  /** Media type this stage answers with, when known (checked against the next stage's accepted types at create); default unknown. */
  outputContentType?: string;
}

/** A pipeline stage with defaults filled in. */
export interface PipelineStageConfig {
  name: string;
  model?: string;
  url?: string;
  timeoutMs: number;
  capture: boolean;
  handlerOptions: Record<string, unknown>;
  outputContentType?: string;
}

/** A stored stage: its configuration and, for model stages, the version its reference pinned. */
export interface StoredPipelineStage extends PipelineStageConfig {
  resolved?: ResolvedModel;
}

/** Fewest and most stages of a pipeline (SageMaker's serial inference pipelines take 2 to 5 containers). */
export const PIPELINE_STAGES = { min: 2, max: 5 } as const;

type Invalid = (detail: string, field?: string) => CapstanError;

/** Validates a variant's `pipeline` block (2-5 stages) and fills stage defaults; `timeoutMs` is the variant's. */
export function compilePipeline(value: unknown, at: string, timeoutMs: number, invalid: Invalid): PipelineStageConfig[] {
  if (!Array.isArray(value) || value.length < PIPELINE_STAGES.min || value.length > PIPELINE_STAGES.max) {
    throw invalid(`${at} must be a list of ${PIPELINE_STAGES.min} to ${PIPELINE_STAGES.max} stages`, at);
  }
  const names = new Set<string>();
  const stages = value.map((raw: unknown, i): PipelineStageConfig => {
    const where = `${at}[${i}]`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(`${where} must be an object with model or url`, where);
    const s = raw as PipelineStageInput;
    const name = s.name ?? `stage-${i + 1}`;
    if (!isValidName(name)) throw invalid(`${where}.name ${JSON.stringify(name)} is not a valid name (a-z, 0-9, '.', '_', '-')`, `${where}.name`);
    if (names.has(name)) throw invalid(`stage name ${name} is used twice`, `${where}.name`);
    names.add(name);
    const hasModel = typeof s.model === 'string' && s.model.trim() !== '';
    const hasUrl = typeof s.url === 'string' && s.url.trim() !== '';
    if (hasModel === hasUrl) throw invalid(`${where} needs exactly one of model (models:/pre/1) or url`, where);
    const stageTimeout = s.timeoutMs ?? timeoutMs;
    if (typeof stageTimeout !== 'number' || !Number.isInteger(stageTimeout) || stageTimeout < 10 || stageTimeout > 3_600_000) {
      throw invalid(`${where}.timeoutMs must be an integer from 10 to 3600000`, `${where}.timeoutMs`);
    }
    if (s.capture !== undefined && typeof s.capture !== 'boolean') throw invalid(`${where}.capture must be true or false`, `${where}.capture`);
    if (s.handlerOptions !== undefined && (typeof s.handlerOptions !== 'object' || s.handlerOptions === null || Array.isArray(s.handlerOptions))) {
      throw invalid(`${where}.handlerOptions must be an object`, `${where}.handlerOptions`);
    }
    if (s.outputContentType !== undefined && (typeof s.outputContentType !== 'string' || !/^[\w.+-]+\/[\w.+*-]+$/.test(s.outputContentType))) {
      throw invalid(`${where}.outputContentType must be a media type such as application/json`, `${where}.outputContentType`);
    }
    return {
      name,
      ...(hasModel ? { model: s.model!.trim() } : { url: s.url!.trim() }),
      timeoutMs: stageTimeout,
      capture: s.capture === true,
      handlerOptions: s.handlerOptions ?? {},
      ...(s.outputContentType ? { outputContentType: s.outputContentType } : {}),
    };
  });
  if (!stages.some((s) => s.model)) throw invalid(`${at} needs at least one model stage (the variant's model is its first one)`, at);
  return stages;
}
