import type { ModelManifest } from '../../core/model-manifest.js';
import type { Tensors } from '../runtimes/tensors.js';

/** One invocation as the worker sees it: the raw body and the headers that matter to a handler. */
export interface InferenceRequest {
  body: string;
  contentType: string;
  /** `X-Capstan-Custom-Attributes`, passed through untouched. */
  customAttributes?: string;
}

/** A handler's answer: the serialised body and its content type. */
export interface InferenceResponse {
  body: string;
  contentType: string;
}

/** What `preprocess` returns: model feeds plus state for `postprocess`, or an answer without the model. */
export type Prepared<S> = { feeds: Tensors; rows: number; state: S } | { response: InferenceResponse };

/**
 * Pre- and post-processing around a tensor model (ONNX). `preprocess` and `postprocess` run in the
 * worker, once per request; the model call between them may be shared with other requests by the
 * dynamic batcher, so feeds must carry the batch on their first dimension (`rows`).
 */
export interface InferenceHandler<S = unknown> {
  /** Parses one request into model feeds; throws CapstanError (4xx) for bad input. */
  preprocess(request: InferenceRequest): Prepared<S>;
  /** Turns this request's rows of the model outputs into the response. */
  postprocess(outputs: Tensors, state: S): InferenceResponse;
  /** Maps Open Inference Protocol input tensors to model feeds (e.g. raw ids to dense indices); default identity. */
  tensorsIn?(inputs: Tensors): Tensors;
}

/** What a handler factory receives: the unpacked package, its manifest and the endpoint's handler options. */
export interface HandlerContext {
  dir: string;
  manifest: ModelManifest;
  options: Record<string, unknown>;
  /** Input names the model declares, in order. */
  inputNames: readonly string[];
  /** Output names the model declares, in order. */
  outputNames: readonly string[];
}

/** Builds a handler for one loaded model. */
export type HandlerFactory = (ctx: HandlerContext) => Promise<InferenceHandler> | InferenceHandler;
