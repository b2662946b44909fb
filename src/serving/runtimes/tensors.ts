import { CapstanError } from '../../core/errors.js';

/** Element types Capstan moves between the gateway, handlers and runtimes. */
export type TensorType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool';

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

/** Open Inference Protocol datatypes and Capstan's element types, both ways. */
const FROM_OIP: Record<string, TensorType> = { FP32: 'float32', FP64: 'float64', INT32: 'int32', INT64: 'int64', UINT8: 'uint8', INT8: 'int8', BOOL: 'bool' };
const TO_OIP: Record<TensorType, string> = { float32: 'FP32', float64: 'FP64', int32: 'INT32', int64: 'INT64', uint8: 'UINT8', int8: 'INT8', bool: 'BOOL' };

/** The element type of an OIP datatype (`FP32`), or undefined when unsupported. */
export function tensorTypeFromOip(datatype: string): TensorType | undefined {
  return FROM_OIP[datatype];
}

/** The OIP datatype of an element type. */
export function oipDatatype(type: TensorType): string {
  return TO_OIP[type];
}

/** The element type named by a signature dtype (`int64`, `float`, `FP32`), or undefined. */
export function normalizeDtype(dtype: string | undefined): TensorType | undefined {
  if (!dtype) return undefined;
  const d = dtype.toLowerCase();
  if (FROM_OIP[dtype.toUpperCase()]) return FROM_OIP[dtype.toUpperCase()];
  if (d === 'float' || d === 'tensor(float)') return 'float32';
  if (d === 'double') return 'float64';
  if (d === 'long') return 'int64';
  return (Object.keys(CONSTRUCTORS) as TensorType[]).find((t) => t === d);
}

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
