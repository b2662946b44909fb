import type { OutboundSettings } from '../../core/outbound-guard.js';
import type { InferenceRequest, InferenceResponse } from '../handlers/inference-handler.js';
import type { ModelManifest, TensorSpec } from '../../core/model-manifest.js';
import type { BatchingOptions } from './batcher.js';
import type { Tensors } from './tensors.js';

/** Runtime settings of one variant, passed to every worker it starts. */
export interface RuntimeOptions {
  /** ONNX Runtime threads inside one operator; default 1 (many small requests scale by workers, not threads). */
  intraOpThreads: number;
  /** ONNX Runtime threads across operators; default 1. */
  interOpThreads: number;
  batching: BatchingOptions;
  /** Options the handler reads (e.g. `{ unknownIds: "popularity" }` for `builtin:ncf-ranking`). */
  handlerOptions: Record<string, unknown>;
  /** For `http` models: overrides the URL in model.json. */
  url?: string;
  /** Outbound guard settings for `http` models. */
  outbound: OutboundSettings;
  /** For `python` models: the interpreter that runs inference.py; default `python3`. */
  interpreter?: string;
}

/** What a worker needs to load one model. */
export interface EngineSpec {
  /** Local directory holding the unpacked package. */
  dir: string;
  manifest: ModelManifest;
  options: RuntimeOptions;
}

/** A response plus the time spent in the model, for the latency histograms. */
export interface EngineResult extends InferenceResponse {
  modelMs: number;
}

/**
 * A loaded model inside a worker: answers invocations (through its handler) and raw tensor inference
 * (Open Inference Protocol). Each in-thread runtime kind (`onnx`, `js`, `http`) provides one; `python` runs in its own process instead.
 */
export interface Engine {
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /** Answers one invocation; throws CapstanError for bad input. */
  invoke(request: InferenceRequest): Promise<EngineResult>;
  /** Runs the model on named tensors. */
  infer(inputs: Tensors): Promise<{ outputs: Tensors; modelMs: number }>;
  /** Releases the model. */
  close(): Promise<void>;
}
