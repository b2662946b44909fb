import { CapstanError } from '../core/errors.js';
import { isValidName } from '../core/names.js';
import { TRAFFIC_POLICY_KINDS, type TrafficPolicyConfig } from './traffic-policy.js';
import { compileVariantFeatures, type VariantFeatures, type VariantFeaturesInput } from './feature-enrichment.js';
import { compileMultiModel, type MultiModelConfig, type MultiModelInput } from './multi-model-config.js';
import { compilePipeline, type PipelineStageConfig, type PipelineStageInput } from './pipeline-config.js';
import { compileScaling, type ScalingConfig, type ScalingInput } from './scaling-config.js';

/** Endpoint life cycle (SageMaker's names). */
export const ENDPOINT_STATUSES = ['Creating', 'InService', 'Updating', 'Failed'] as const;

/** One endpoint status. */
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

/** One production variant as a user writes it; `compileEndpointConfig` fills the defaults. */
export interface VariantInput {
  /** Variant name; default `primary` for the first, `variant-<n>` after. */
  name?: string;
  /** `models:/ncf/3`, `models:/ncf@champion` or `ncf/3`; aliases resolve to a version when applied. JSON and YAML may leave it out of a multi-model variant (it is then `multiModel.source`) and of a pipeline variant (its first model stage's). */
  model: string;
  /** Relative traffic share; default 1. Weights need not sum to anything. */
  weight?: number;
  /** Worker threads, each holding a copy of the model; default 1. */
  instances?: number;
  /** Merge concurrent requests into one model call; default maxBatchSize 1 (off), maxDelayMs 0. */
  batching?: { maxBatchSize?: number; maxDelayMs?: number };
  /** ONNX Runtime threads per worker; default 1 each. */
  intraOpThreads?: number;
  interOpThreads?: number;
  /** Requests slower than this answer 504; default 60000 ms. */
  timeoutMs?: number;
  /** For `http` models: the external server's URL, overriding model.json. */
  url?: string;
  /** For `python` models: the interpreter (a name on PATH or an absolute path to a python executable); default `python3`. */
  interpreter?: string;
  /** Handler options (e.g. `{ "unknownIds": "popularity" }` for builtin:ncf-ranking); default none. */
  handlerOptions?: Record<string, unknown>;
  /** Online feature values added to each JSON instance before the model sees it; default none. */
  features?: VariantFeaturesInput;
  /** Makes this a shadow variant: it answers no user, but this share (0-100) of requests is also sent to it after the answer; default 0 (a production variant). */
  shadowPercent?: number;
  /** Makes this a multi-model variant: the model is chosen per request (`X-Capstan-Target-Model`) from a registry group or an artifact prefix, loaded on first use; default none. */
  multiModel?: MultiModelInput;
  /** Makes this a serial inference pipeline of 2-5 stages, each stage's answer the next one's request; default none (one model). */
  pipeline?: PipelineStageInput[];
  /** Autoscaling between min and max workers on observed concurrency (`instances` is then ignored); default none (a fixed `instances`). */
  scaling?: ScalingInput;
}

/** Data capture as a user writes it; every field has a default. */
export interface DataCaptureInput {
  /** Default false. */
  enabled?: boolean;
  /** Share of requests captured, 0-100; default 100. */
  samplingPercent?: number;
  /** A capture file is closed at this size; default 16 MiB. */
  rotateBytes?: number;
  /** ...or this long after its first record; default 60000 ms. */
  rotateMs?: number;
}

/** What `create` / `update` take. */
export interface EndpointConfigInput {
  variants: VariantInput[];
  dataCapture?: DataCaptureInput;
  /** How requests without a target variant are spread over the variants; default `{ kind: 'weighted-random' }`. */
  trafficPolicy?: TrafficPolicyConfig;
}

/** A variant with every default filled in. */
export interface VariantConfig {
  name: string;
  model: string;
  weight: number;
  instances: number;
  batching: { maxBatchSize: number; maxDelayMs: number };
  intraOpThreads: number;
  interOpThreads: number;
  timeoutMs: number;
  url?: string;
  interpreter?: string;
  handlerOptions: Record<string, unknown>;
  features?: VariantFeatures;
  /** Set (above 0) on shadow variants only. */
  shadowPercent?: number;
  /** Set on multi-model variants only (then `model` is the source). */
  multiModel?: MultiModelConfig;
  /** Set on pipeline variants only. */
  pipeline?: PipelineStageConfig[];
  /** Set on autoscaled variants only. */
  scaling?: ScalingConfig;
}

/** Data capture with every default filled in. */
export interface DataCaptureConfig {
  enabled: boolean;
  samplingPercent: number;
  rotateBytes: number;
  rotateMs: number;
}

/** A validated endpoint configuration. */
export interface EndpointConfig {
  variants: VariantConfig[];
  dataCapture: DataCaptureConfig;
  trafficPolicy: TrafficPolicyConfig;
}

function invalid(detail: string, field?: string): CapstanError {
  return new CapstanError('CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID', detail, { fields: field ? { field } : {} });
}

function int(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(`${field} must be an integer from ${min} to ${max}`, field);
  return value;
}

/** Validates a configuration and fills its defaults; throws CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID naming the field. */
export function compileEndpointConfig(input: EndpointConfigInput): EndpointConfig {
  if (!input || !Array.isArray(input.variants) || input.variants.length === 0) throw invalid('an endpoint needs at least one production variant', 'variants');
  if (input.variants.length > 10) throw invalid('an endpoint has at most 10 production variants', 'variants');
  const names = new Set<string>();
  const variants = input.variants.map((v, i): VariantConfig => {
    const at = `variants[${i}]`;
    if (!v || typeof v !== 'object') throw invalid(`${at} must be an object`, at);
    const name = v.name ?? (i === 0 ? 'primary' : `variant-${i + 1}`);
    if (!isValidName(name)) throw invalid(`${at}.name ${JSON.stringify(name)} is not a valid name (a-z, 0-9, '.', '_', '-')`, `${at}.name`);
    if (names.has(name)) throw invalid(`variant name ${name} is used twice`, `${at}.name`);
    names.add(name);
    const timeoutMs = int(v.timeoutMs, `${at}.timeoutMs`, 10, 3_600_000, 60_000);
    const multiModel = v.multiModel !== undefined ? compileMultiModel(v.multiModel, `${at}.multiModel`, invalid) : undefined;
    if (multiModel && v.model !== undefined && (typeof v.model !== 'string' || v.model.trim().replace(/\/+$/, '') !== multiModel.source)) throw invalid(`${at}.model must be left out of a multi-model variant (its models come from multiModel.source)`, `${at}.model`);
    if (multiModel && v.shadowPercent) throw invalid(`${at}: a multi-model variant cannot be a shadow variant`, `${at}.shadowPercent`);
    if (multiModel && v.pipeline !== undefined) throw invalid(`${at}: a multi-model variant cannot also be a pipeline`, `${at}.pipeline`);
    const pipeline = v.pipeline !== undefined ? compilePipeline(v.pipeline, `${at}.pipeline`, timeoutMs, invalid) : undefined;
    if (pipeline && v.model === undefined) v = { ...v, model: pipeline.find((s) => s.model)!.model! };
    const scaling = v.scaling !== undefined ? compileScaling(v.scaling, `${at}.scaling`, invalid) : undefined;
    const model: unknown = multiModel ? multiModel.source : v.model;
    if (typeof model !== 'string' || !model.trim()) throw invalid(`${at}.model must name a model version, e.g. models:/ncf/3 or models:/ncf@champion`, `${at}.model`);
    const weight = v.weight ?? 1;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) throw invalid(`${at}.weight must be a number >= 0`, `${at}.weight`);
    if (v.handlerOptions !== undefined && (typeof v.handlerOptions !== 'object' || v.handlerOptions === null || Array.isArray(v.handlerOptions))) {
      throw invalid(`${at}.handlerOptions must be an object`, `${at}.handlerOptions`);
    }
    if (v.url !== undefined && typeof v.url !== 'string') throw invalid(`${at}.url must be a URL`, `${at}.url`);
    // Only a Python executable: the setting must not become a way to run any program on the server.
    if (v.interpreter !== undefined && (typeof v.interpreter !== 'string' || !/^[\w./+-]+$/.test(v.interpreter) || !/^python[\d.]*$/.test(v.interpreter.split('/').pop()!))) {
      throw invalid(`${at}.interpreter must name a python executable, e.g. python3 or /usr/bin/python3.11`, `${at}.interpreter`);
    }
    if (v.shadowPercent !== undefined && (typeof v.shadowPercent !== 'number' || !(v.shadowPercent >= 0 && v.shadowPercent <= 100))) throw invalid(`${at}.shadowPercent must be from 0 to 100`, `${at}.shadowPercent`);
    return {
      name,
      model: model.trim(),
      weight,
      // With scaling, the workers a variant starts with follow scaling.min (one to load and check the model when min is 0).
      instances: scaling ? Math.max(1, scaling.min) : int(v.instances, `${at}.instances`, 1, 32, 1),
      batching: {
        maxBatchSize: int(v.batching?.maxBatchSize, `${at}.batching.maxBatchSize`, 1, 1_000_000, 1),
        maxDelayMs: int(v.batching?.maxDelayMs, `${at}.batching.maxDelayMs`, 0, 10_000, 0),
      },
      intraOpThreads: int(v.intraOpThreads, `${at}.intraOpThreads`, 1, 64, 1),
      interOpThreads: int(v.interOpThreads, `${at}.interOpThreads`, 1, 64, 1),
      timeoutMs,
      ...(v.url !== undefined ? { url: v.url } : {}),
      ...(v.interpreter !== undefined ? { interpreter: v.interpreter } : {}),
      handlerOptions: v.handlerOptions ?? {},
      ...(v.features !== undefined ? { features: compileVariantFeatures(v.features, `${at}.features`, invalid) } : {}),
      ...(v.shadowPercent ? { shadowPercent: v.shadowPercent } : {}),
      ...(multiModel ? { multiModel } : {}),
      ...(pipeline ? { pipeline } : {}),
      ...(scaling ? { scaling } : {}),
    };
  });
  if (variants.every((v) => v.weight === 0 || v.shadowPercent)) throw invalid('at least one variant needs a weight above 0 (shadow variants do not count)', 'variants');
  const dc = input.dataCapture ?? {};
  const samplingPercent = dc.samplingPercent ?? 100;
  if (typeof samplingPercent !== 'number' || !(samplingPercent >= 0 && samplingPercent <= 100)) throw invalid('dataCapture.samplingPercent must be from 0 to 100', 'dataCapture.samplingPercent');
  const tp = input.trafficPolicy ?? { kind: 'weighted-random' };
  if (!tp || typeof tp !== 'object' || !(TRAFFIC_POLICY_KINDS as readonly string[]).includes(tp.kind)) {
    throw invalid(`trafficPolicy.kind must be one of ${TRAFFIC_POLICY_KINDS.join(', ')}`, 'trafficPolicy.kind');
  }
  if (tp.keyField !== undefined && (tp.kind !== 'sticky' || typeof tp.keyField !== 'string' || !/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/.test(tp.keyField))) {
    throw invalid('trafficPolicy.keyField is a JSON field path (user, context.userId) of the sticky policy', 'trafficPolicy.keyField');
  }
  return {
    variants,
    trafficPolicy: { kind: tp.kind, ...(tp.keyField ? { keyField: tp.keyField } : {}) },
    dataCapture: {
      enabled: dc.enabled === true,
      samplingPercent,
      rotateBytes: int(dc.rotateBytes, 'dataCapture.rotateBytes', 1024, 1024 ** 3, 16 * 1024 * 1024),
      rotateMs: int(dc.rotateMs, 'dataCapture.rotateMs', 100, 86_400_000, 60_000),
    },
  };
}
