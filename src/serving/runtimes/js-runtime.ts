import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { CapstanError, isCapstanError } from '../../core/errors.js';
import { hidePath } from '../../core/hide-path.js';
import { packagePath } from '../../core/model-manifest.js';
import { compileRowCheck } from '../request-validation.js';
import { Batcher } from './batcher.js';
import type { Engine, EngineSpec } from './engine.js';

/** What `preprocess` and `postprocess` of a custom handler receive besides the data. */
export interface JsHandlerContext {
  contentType: string;
  customAttributes?: string;
  /** The endpoint's handler options. */
  options: Record<string, unknown>;
}

/**
 * The custom inference handler contract of a `js` model package: the module named by `entry`
 * exports these functions (only `predict` is required). JSON bodies reach `preprocess` parsed;
 * `postprocess` returns a JSON value, or `{ body, contentType }` to answer something else.
 */
export interface JsModelModule {
  /** Loads the model once per worker from the package directory; default: nothing to load. */
  load?(dir: string, options: Record<string, unknown>): unknown;
  /** Turns the request into the model's input; default: the parsed JSON body (or the raw text). */
  preprocess?(body: unknown, ctx: JsHandlerContext): unknown;
  /** Runs the model on one input. */
  predict(model: unknown, input: unknown): unknown;
  /** Runs the model on several inputs at once; when present the variant's dynamic batching uses it. */
  predictBatch?(model: unknown, inputs: unknown[]): unknown[] | Promise<unknown[]>;
  /** Turns the model's output into the response; default: the output as JSON. */
  postprocess?(output: unknown, ctx: JsHandlerContext): unknown;
}

function userError(err: unknown, stage: string): CapstanError {
  if (isCapstanError(err)) return err;
  // A handler may throw `{ status: 4xx, message }` for bad input; anything else is the model failing.
  const e = err as { status?: number; message?: string };
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', String(e.message ?? 'invalid input').slice(0, 500), { cause: err });
  }
  return new CapstanError('CAPSTAN_SERVING_MODEL_ERROR', `the model's ${stage} failed`, { cause: err });
}

/** The `js` runtime: a module implementing load / preprocess / predict / postprocess, run inside the worker. */
export async function createJsEngine(spec: EngineSpec): Promise<Engine> {
  const { dir, manifest, options } = spec;
  let mod: JsModelModule;
  try {
    mod = (await import(pathToFileURL(packagePath(dir, manifest.entry)).href)) as JsModelModule;
  } catch (err) {
    throw new CapstanError('CAPSTAN_SERVING_MODEL_LOAD_FAILED', `cannot import ${manifest.entry}: ${hidePath(String((err as Error).message ?? err).split('\n')[0], dir, '<package>').slice(0, 300)}`, { cause: err });
  }
  if (typeof mod.predict !== 'function') throw new CapstanError('CAPSTAN_SERVING_MODEL_PACKAGE_INVALID', `${manifest.entry} exports no predict function`);
  let model: unknown;
  try {
    model = mod.load ? await mod.load(dir, options.handlerOptions) : undefined;
  } catch (err) {
    throw new CapstanError('CAPSTAN_SERVING_MODEL_LOAD_FAILED', `load() of ${manifest.entry} failed: ${hidePath(String((err as Error).message ?? err), dir, '<package>').slice(0, 300)}`, { cause: err });
  }
  const checkBody = compileRowCheck(manifest.signature.inputs);
  const predictBatch = mod.predictBatch;
  const batcher = predictBatch
    ? new Batcher<unknown, unknown>(options.batching, async (inputs) => {
        const out = await predictBatch(model, inputs);
        if (!Array.isArray(out) || out.length !== inputs.length) throw new CapstanError('CAPSTAN_SERVING_MODEL_ERROR', 'predictBatch must return one output per input');
        return out;
      })
    : undefined;

  return {
    inputs: manifest.signature.inputs,
    outputs: manifest.signature.outputs,
    async invoke(request) {
      const ctx: JsHandlerContext = { contentType: request.contentType, customAttributes: request.customAttributes, options: options.handlerOptions };
      let body: unknown = request.body;
      if (/json/i.test(request.contentType)) {
        try {
          body = JSON.parse(request.body);
        } catch {
          throw new CapstanError('CAPSTAN_SERVING_MALFORMED_JSON', 'the request body is not valid JSON');
        }
        checkBody?.(body);
      }
      let input: unknown;
      try {
        input = mod.preprocess ? await mod.preprocess(body, ctx) : body;
      } catch (err) {
        throw userError(err, 'preprocess');
      }
      const started = performance.now();
      let output: unknown;
      try {
        output = batcher ? await batcher.submit(input, 1) : await mod.predict(model, input);
      } catch (err) {
        throw userError(err, 'predict');
      }
      const modelMs = performance.now() - started;
      let result: unknown;
      try {
        result = mod.postprocess ? await mod.postprocess(output, ctx) : output;
      } catch (err) {
        throw userError(err, 'postprocess');
      }
      const r = result as { body?: unknown; contentType?: unknown };
      if (r && typeof r === 'object' && typeof r.body === 'string' && typeof r.contentType === 'string') return { body: r.body, contentType: r.contentType, modelMs };
      return { body: JSON.stringify(result ?? null), contentType: 'application/json', modelMs };
    },
    async infer() {
      throw new CapstanError('CAPSTAN_SERVING_PROTOCOL_UNSUPPORTED', 'a js model takes invocations, not Open Inference Protocol tensors');
    },
    async close() {},
  };
}
