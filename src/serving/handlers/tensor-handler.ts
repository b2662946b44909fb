import { CapstanError } from '../../core/errors.js';
import { normalizeDtype, tensorFromNumbers, tensorToNumbers, type TensorData, type Tensors, type TensorType } from '../runtimes/tensors.js';
import { compileShapeCheck } from '../request-validation.js';
import type { HandlerContext, InferenceHandler } from './inference-handler.js';

function bad(detail: string): CapstanError {
  return new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', detail);
}

/** Flattens a nested JSON array and returns its values and shape; ragged arrays are refused. */
function flatten(name: string, value: unknown): { values: unknown[]; dims: number[] } {
  const dims: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    dims.push(probe.length);
    probe = probe[0];
  }
  if (dims.length === 0) throw bad(`input ${name} must be an array`);
  const values: unknown[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth === dims.length) {
      values.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== dims[depth]) throw bad(`input ${name} is ragged: every row must have the same length`);
    for (const x of v) walk(x, depth + 1);
  };
  walk(value, 0);
  return { values, dims };
}

/** Rebuilds nested arrays from a flat tensor. */
function nest(t: TensorData): unknown {
  const flat = tensorToNumbers(t);
  if (t.dims.length <= 1) return flat;
  const build = (offset: number, depth: number): unknown[] => {
    const size = t.dims.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: t.dims[depth] }, (_, i) => (depth === t.dims.length - 1 ? flat[offset + i] : build(offset + i * size, depth + 1)));
  };
  return build(0, 0);
}

/**
 * The default handler of an ONNX package without its own: `{"inputs": {"x": [[…], …]}}` (or
 * `{"instances": [...]}` for a single-input model) in, `{"outputs": {"y": [...]}}` out. Input element
 * types come from the signature (float32 when it says nothing); the first dimension is the batch.
 */
export function createTensorHandler(ctx: HandlerContext): InferenceHandler<{ rows: number }> {
  const types = new Map<string, TensorType>();
  for (const spec of ctx.manifest.signature.inputs) types.set(spec.name, normalizeDtype(spec.dtype) ?? 'float32');
  const inputNames = ctx.inputNames;
  const checkShape = compileShapeCheck(ctx.manifest.signature.inputs);
  return {
    preprocess(request) {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(request.body);
      } catch {
        throw new CapstanError('CAPSTAN_SERVING_MALFORMED_JSON', 'the request body is not valid JSON');
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('expected {"inputs": {name: array}} or {"instances": [...]}');
      let inputs = body.inputs as Record<string, unknown> | undefined;
      if (inputs === undefined && Array.isArray(body.instances)) {
        if (inputNames.length !== 1) throw bad('"instances" works only for a model with one input; send "inputs" by name');
        inputs = { [inputNames[0]]: body.instances };
      }
      if (!inputs || typeof inputs !== 'object' || Array.isArray(inputs)) throw bad('"inputs" must map input names to arrays');
      const feeds: Tensors = {};
      let rows = -1;
      for (const name of inputNames) {
        if (!(name in inputs)) throw bad(`input ${name} is missing; the model takes ${inputNames.join(', ')}`);
        const { values, dims } = flatten(name, inputs[name]);
        checkShape(name, dims);
        feeds[name] = tensorFromNumbers(name, types.get(name) ?? 'float32', values, dims);
        if (rows >= 0 && dims[0] !== rows) throw bad('every input must have the same number of rows');
        rows = dims[0];
      }
      for (const name of Object.keys(inputs)) if (!inputNames.includes(name)) throw bad(`unknown input ${name}; the model takes ${inputNames.join(', ')}`);
      return { feeds, rows, state: { rows } };
    },
    postprocess(outputs) {
      const out: Record<string, unknown> = {};
      for (const [name, t] of Object.entries(outputs)) out[name] = nest(t);
      return { body: JSON.stringify({ outputs: out }), contentType: 'application/json' };
    },
  };
}
