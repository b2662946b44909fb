/**
 * Element types of model signatures, shared by the registry (which checks a package's declared
 * signature against its graph) and serving (which moves tensors of these types).
 */
export type TensorType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool';

const TYPES: readonly TensorType[] = ['float32', 'float64', 'int32', 'int64', 'uint8', 'int8', 'bool'];

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
  return TYPES.find((t) => t === d);
}
