import { CapstanError } from '../../core/errors.js';
import type { TensorType } from '../../core/tensor-dtype.js';

export { normalizeDtype, oipDatatype, tensorTypeFromOip, type TensorType } from '../../core/tensor-dtype.js';

/** A typed array holding one of the supported element types. */
export type TensorArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

/** A runtime-neutral tensor: row-major data and its dimensions. */
export interface TensorData {
  type: TensorType;
  data: TensorArray;
  dims: number[];
}

/** Named tensors: a model's feeds or outputs. */
export type Tensors = Record<string, TensorData>;

const CONSTRUCTORS: Record<TensorType, new (n: number) => TensorArray> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  int8: Int8Array,
  bool: Uint8Array,
};

/** Number of elements a shape holds. */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Builds a tensor of `type` from a flat list of JSON numbers; CAPSTAN_SERVING_INVALID_INPUT when a value does not fit. */
export function tensorFromNumbers(name: string, type: TensorType, values: readonly unknown[], dims: number[]): TensorData {
  if (elementCount(dims) !== values.length) {
    throw new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', `input ${name}: shape [${dims.join(',')}] needs ${elementCount(dims)} values, got ${values.length}`, { fields: { input: name } });
  }
  const data = new CONSTRUCTORS[type](values.length);
  for (let i = 0; i < values.length; i++) {
    let v = values[i];
    if (typeof v === 'boolean' && type === 'bool') v = v ? 1 : 0;
    if (typeof v !== 'number' || !Number.isFinite(v) || ((type !== 'float32' && type !== 'float64') && !Number.isInteger(v))) {
      throw new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', `input ${name}: element ${i} is not a valid ${type} value`, { fields: { input: name } });
    }
    if (type === 'int64') (data as BigInt64Array)[i] = BigInt(v);
    else (data as Float32Array)[i] = v;
  }
  return { type, data, dims };
}

/** The tensor's values as JSON-safe numbers (int64 beyond 2^53 loses precision, as JSON would anyway). */
export function tensorToNumbers(t: TensorData): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < t.data.length; i++) out[i] = Number(t.data[i]);
  return out;
}

/** Concatenates tensors of the same type along the first dimension. */
export function concatRows(parts: TensorData[]): TensorData {
  if (parts.length === 1) return parts[0];
  const first = parts[0];
  let rows = 0;
  let length = 0;
  for (const p of parts) {
    if (p.type !== first.type || p.dims.length !== first.dims.length) {
      throw new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', 'requests in one batch disagree on an input type or rank');
    }
    rows += p.dims[0];
    length += p.data.length;
  }
  const data = new CONSTRUCTORS[first.type](length);
  let offset = 0;
  for (const p of parts) {
    (data as Float32Array).set(p.data as Float32Array, offset);
    offset += p.data.length;
  }
  return { type: first.type, data, dims: [rows, ...first.dims.slice(1)] };
}

/** Rows `[start, start + count)` of a tensor, without copying. */
export function sliceRows(t: TensorData, start: number, count: number): TensorData {
  const inner = t.dims.length > 1 ? elementCount(t.dims.slice(1)) : 1;
  return { type: t.type, data: t.data.subarray(start * inner, (start + count) * inner) as TensorArray, dims: [count, ...t.dims.slice(1)] };
}
