import { CapstanError } from '../core/errors.js';
import type { TensorSpec } from '../core/model-manifest.js';
import { elementCount, normalizeDtype, oipDatatype, tensorFromNumbers, tensorToNumbers, tensorTypeFromOip, type Tensors } from './runtimes/tensors.js';

/** An Open Inference Protocol v2 inference request, decoded. */
export interface OipRequest {
  id?: string;
  inputs: Tensors;
  /** Output names the client asked for; empty = all. */
  outputs: string[];
}

function bad(detail: string): CapstanError {
  return new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', detail);
}

function flat(value: unknown, out: unknown[]): void {
  if (Array.isArray(value)) for (const v of value) flat(v, out);
  else out.push(value);
}

/** Decodes `POST /v2/models/{m}/infer` (JSON tensor data, row-major, nested or flat). */
export function decodeOipRequest(text: string): OipRequest {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CapstanError('CAPSTAN_SERVING_MALFORMED_JSON', 'the request body is not valid JSON');
  }
  if (!body || typeof body !== 'object' || !Array.isArray(body.inputs) || body.inputs.length === 0) {
    throw bad('expected {"inputs": [{"name", "shape", "datatype", "data"}]}');
  }
  const inputs: Tensors = {};
  for (const [i, raw] of (body.inputs as unknown[]).entries()) {
    const t = raw as Record<string, unknown>;
    if (!t || typeof t.name !== 'string') throw bad(`inputs[${i}].name is required`);
    const type = typeof t.datatype === 'string' ? tensorTypeFromOip(t.datatype) : undefined;
    if (!type) throw bad(`inputs[${i}].datatype ${JSON.stringify(t.datatype)} is not supported; use FP32, FP64, INT32, INT64, INT8, UINT8 or BOOL`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`inputs[${i}].shape must be a list of non-negative integers`);
    const values: unknown[] = [];
    flat(t.data, values);
    const dims = t.shape as number[];
    if (elementCount(dims) !== values.length) throw bad(`inputs[${i}] (${t.name}): shape [${dims.join(',')}] needs ${elementCount(dims)} values, got ${values.length}`);
    inputs[t.name] = tensorFromNumbers(t.name, type, values, dims);
  }
  const outputs = Array.isArray(body.outputs) ? (body.outputs as { name?: unknown }[]).map((o) => String(o?.name)) : [];
  return { ...(typeof body.id === 'string' ? { id: body.id } : {}), inputs, outputs };
}

/** Encodes the inference response. */
export function encodeOipResponse(model: string, version: string, id: string | undefined, outputs: Tensors, wanted: string[]): string {
  const names = wanted.length > 0 ? wanted : Object.keys(outputs);
  const list = names.map((name) => {
    const t = outputs[name];
    if (!t) throw bad(`the model has no output ${name}; it has ${Object.keys(outputs).join(', ')}`);
    return { name, datatype: oipDatatype(t.type), shape: t.dims, data: tensorToNumbers(t) };
  });
  return JSON.stringify({ model_name: model, model_version: version, ...(id ? { id } : {}), outputs: list });
}

/** One tensor's metadata as `GET /v2/models/{m}` lists it. */
export function oipTensorMetadata(spec: TensorSpec): { name: string; datatype: string; shape: number[] } {
  const type = normalizeDtype(spec.dtype);
  return { name: spec.name, datatype: type ? oipDatatype(type) : 'BYTES', shape: (spec.shape ?? [-1]).map((d) => (typeof d === 'number' ? d : -1)) };
}
