import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { CapstanError } from '../../core/errors.js';
import { hidePath } from '../../core/hide-path.js';
import { loadHandler } from '../handlers/handler-registry.js';
import type { InferenceHandler } from '../handlers/inference-handler.js';
import { packagePath, type TensorSpec } from '../../core/model-manifest.js';
import { Batcher } from './batcher.js';
import type { Engine, EngineResult, EngineSpec } from './engine.js';
import { concatRows, normalizeDtype, sliceRows, type TensorData, type Tensors, type TensorType } from './tensors.js';

interface BatchResult {
  outputs: Tensors;
  modelMs: number;
}

function toOrt(t: TensorData): ort.Tensor {
  return new ort.Tensor(t.type, t.data, t.dims);
}

function fromOrt(t: ort.Tensor): TensorData {
  return { type: t.type as TensorType, data: t.data as TensorData['data'], dims: [...t.dims] };
}

/** Splits batched outputs back into each request's rows; outputs without the batch dimension go to everyone. */
function split(outputs: Tensors, rows: number[], total: number): Tensors[] {
  const parts: Tensors[] = rows.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    let start = 0;
    rows.forEach((n, i) => {
      parts[i][name] = t.dims[0] === total ? sliceRows(t, start, n) : t;
      start += n;
    });
  }
  return parts;
}

/**
 * The ONNX runtime: one onnxruntime-node session per worker, thread counts from the variant's
 * options, the package's handler around it and the dynamic batcher between them.
 */
export async function createOnnxEngine(spec: EngineSpec): Promise<Engine> {
  const { dir, manifest, options } = spec;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(packagePath(dir, manifest.entry), {
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: options.interOpThreads,
      executionMode: options.interOpThreads > 1 ? 'parallel' : 'sequential',
      graphOptimizationLevel: 'all',
      // Spinning pool threads burn the cores the gateway and other workers need between requests.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
  } catch (err) {
    throw new CapstanError('CAPSTAN_SERVING_MODEL_LOAD_FAILED', `ONNX Runtime cannot load ${manifest.entry}: ${hidePath(String((err as Error).message ?? err).split('\n')[0], dir, '<package>').slice(0, 300)}`, { cause: err });
  }
  const inputNames = session.inputNames;
  const outputNames = session.outputNames;
  const declared = new Map(manifest.signature.inputs.map((s) => [s.name, s]));
  const inputs: TensorSpec[] = inputNames.map((name) => declared.get(name) ?? { name });
  const outputsDeclared = new Map(manifest.signature.outputs.map((s) => [s.name, s]));
  const outputs: TensorSpec[] = outputNames.map((name) => outputsDeclared.get(name) ?? { name });
  const handler: InferenceHandler = await loadHandler({ dir, manifest, options: options.handlerOptions, inputNames, outputNames });

  const runModel = async (feeds: Tensors): Promise<BatchResult> => {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of inputNames) {
      const t = feeds[name];
      if (!t) throw new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', `input ${name} is missing`, { fields: { input: name } });
      const want = normalizeDtype(declared.get(name)?.dtype);
      if (want && want !== t.type) throw new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', `input ${name} must be ${want}, got ${t.type}`, { fields: { input: name } });
      ortFeeds[name] = toOrt(t);
    }
    const started = performance.now();
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await session.run(ortFeeds);
    } catch (err) {
      // ORT's messages name shapes and nodes: useful to the caller and free of paths.
      throw new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', `the model rejected the input: ${String((err as Error).message ?? err).split('\n')[0].slice(0, 300)}`, { cause: err });
    }
    const modelMs = performance.now() - started;
    const out: Tensors = {};
    for (const name of outputNames) out[name] = fromOrt(result[name] as ort.Tensor);
    return { outputs: out, modelMs };
  };

  const batcher = new Batcher<{ feeds: Tensors; rows: number }, BatchResult>(options.batching, async (items) => {
    if (items.length === 1) return [await runModel(items[0].feeds)];
    const merged: Tensors = {};
    for (const name of inputNames) merged[name] = concatRows(items.map((i) => i.feeds[name]));
    const total = items.reduce((n, i) => n + i.rows, 0);
    const { outputs: out, modelMs } = await runModel(merged);
    return split(out, items.map((i) => i.rows), total).map((o) => ({ outputs: o, modelMs }));
  });

  return {
    inputs,
    outputs,
    async invoke(request): Promise<EngineResult> {
      const prepared = handler.preprocess(request);
      // Results are built field by field: V8 allocated the spread form in old space (decision 0034).
      if ('response' in prepared) return { body: prepared.response.body, contentType: prepared.response.contentType, modelMs: 0 };
      const { outputs: out, modelMs } = await batcher.submit({ feeds: prepared.feeds, rows: prepared.rows }, prepared.rows);
      const response = handler.postprocess(out, prepared.state);
      return { body: response.body, contentType: response.contentType, modelMs };
    },
    async infer(tensors) {
      const feeds = handler.tensorsIn ? handler.tensorsIn(tensors) : tensors;
      const rows = feeds[inputNames[0]]?.dims[0] ?? 1;
      return batcher.submit({ feeds, rows }, rows);
    },
    async close() {
      await session.release();
    },
  };
}
