import { CapstanError } from '../core/errors.js';
import type { TensorSpec } from '../core/model-manifest.js';
import { normalizeDtype, type Tensors, type TensorType } from './runtimes/tensors.js';

/**
 * Request checks derived from a model's manifest and signature. Each `compile…` runs once when a
 * variant's workers start (or a worker loads its model) and returns a plain function, so no request
 * compiles anything. Violations answer 400 CAPSTAN_SERVING_INVALID_INPUT listing every problem
 * found (`violations`), wrong content types 415 CAPSTAN_SERVING_UNSUPPORTED_MEDIA_TYPE.
 */

/** The content types a package accepts when `model.json` names none. */
export const DEFAULT_CONTENT_TYPES = ['application/json'];

/** Most violations listed in one answer. */
const MAX_VIOLATIONS = 20;

function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/**
 * The content-type check of a package: its `contentTypes` (default JSON). `application/json` also
 * admits `application/<x>+json`; `*\/*` admits anything.
 */
export function compileContentTypeCheck(accepted: readonly string[] = DEFAULT_CONTENT_TYPES): (contentType: string) => void {
  const exact = new Set(accepted.map((t) => mediaType(t)));
  const any = exact.has('*/*');
  const json = exact.has('application/json');
  const list = [...exact].join(', ');
  return (contentType) => {
    // The common case, a bare accepted type, costs one lookup and no string work.
    if (any || exact.has(contentType)) return;
    const type = mediaType(contentType);
    if (exact.has(type) || (json && type.startsWith('application/') && type.endsWith('+json'))) return;
    throw new CapstanError('CAPSTAN_SERVING_UNSUPPORTED_MEDIA_TYPE', `this model takes ${list}, not ${JSON.stringify(type.slice(0, 100))}`, {
      fields: { contentType: type.slice(0, 100), accepted: [...exact] },
    });
  };
}

/** Fixed sizes of a declared shape; -1, null and names are free. */
function fixedDims(spec: TensorSpec): (number | undefined)[] | undefined {
  if (!spec.shape) return undefined;
  return spec.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : undefined));
}

function invalid(violations: string[]): CapstanError {
  const shown = violations.slice(0, MAX_VIOLATIONS);
  return new CapstanError('CAPSTAN_SERVING_INVALID_INPUT', `the request does not fit the model's signature: ${shown.join('; ')}`, { fields: { violations: shown } });
}

/** Checks dims against a declared shape: the same rank and every fixed size. */
function shapeViolation(name: string, dims: readonly number[], fixed: readonly (number | undefined)[] | undefined): string | undefined {
  if (!fixed) return undefined;
  if (dims.length !== fixed.length) return `${name} must have ${fixed.length} dimension(s), got ${dims.length}`;
  for (let i = 0; i < fixed.length; i++) {
    const want = fixed[i];
    if (want !== undefined && dims[i] !== want) return `${name} dimension ${i} must be ${want}, got ${dims[i]}`;
  }
  return undefined;
}

/**
 * The Open Inference Protocol check: every declared input present, no other, each with its declared
 * element type and a shape of the declared rank and fixed sizes.
 */
export function compileTensorCheck(inputs: readonly TensorSpec[]): (tensors: Tensors) => void {
  if (inputs.length === 0) return () => {};
  const specs = inputs.map((s) => ({ name: s.name, type: normalizeDtype(s.dtype), fixed: fixedDims(s) }));
  const names = new Set(specs.map((s) => s.name));
  return (tensors) => {
    const violations: string[] = [];
    for (const s of specs) {
      const t = tensors[s.name];
      if (!t) {
        violations.push(`input ${s.name} is missing`);
        continue;
      }
      if (s.type && t.type !== s.type) violations.push(`input ${s.name} must be ${s.type}, got ${t.type}`);
      const shape = shapeViolation(`input ${s.name}`, t.dims, s.fixed);
      if (shape) violations.push(shape);
    }
    for (const name of Object.keys(tensors)) if (!names.has(name)) violations.push(`unknown input ${name}; the model takes ${[...names].join(', ')}`);
    if (violations.length) throw invalid(violations);
  };
}

/** Checks one JSON value against an element type; the description of what was expected when it does not fit. */
function elementCheck(type: TensorType | 'string' | undefined): (v: unknown) => string | undefined {
  switch (type) {
    case undefined:
      return () => undefined;
    case 'string':
      return (v) => (typeof v === 'string' ? undefined : 'a string');
    case 'bool':
      return (v) => (typeof v === 'boolean' || v === 0 || v === 1 ? undefined : 'a boolean');
    case 'float32':
    case 'float64':
      return (v) => (typeof v === 'number' && Number.isFinite(v) ? undefined : 'a number');
    case 'uint8':
      return (v) => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255 ? undefined : 'an integer from 0 to 255');
    case 'int8':
      return (v) => (Number.isInteger(v) && (v as number) >= -128 && (v as number) <= 127 ? undefined : 'an integer from -128 to 127');
    case 'int32':
      return (v) => (Number.isInteger(v) && Math.abs(v as number) <= 2 ** 31 ? undefined : 'a 32-bit integer');
    case 'int64':
      return (v) => (Number.isSafeInteger(v) ? undefined : 'an integer');
  }
}

function valueType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? 'a string' : typeof v;
}

/** Checks a nested JSON array against a declared shape and element type, collecting violations. */
function checkValue(path: string, value: unknown, fixed: (number | undefined)[] | undefined, element: (v: unknown) => string | undefined, out: string[]): void {
  const rank = fixed?.length ?? 0;
  const walk = (v: unknown, depth: number, at: string): void => {
    if (out.length >= MAX_VIOLATIONS) return;
    if (depth === rank) {
      const want = element(v);
      if (want) out.push(`${at} must be ${want}, got ${valueType(v)}`);
      return;
    }
    if (!Array.isArray(v)) {
      out.push(`${at} must be an array (${rank - depth} more dimension(s)), got ${valueType(v)}`);
      return;
    }
    const size = fixed![depth];
    if (size !== undefined && v.length !== size) out.push(`${at} must have ${size} element(s), got ${v.length}`);
    for (let i = 0; i < v.length && out.length < MAX_VIOLATIONS; i++) walk(v[i], depth + 1, `${at}[${i}]`);
  };
  walk(value, 0, path);
}

/** The element type a JSON row field must have: tensor types, or `string` for string/BYTES dtypes. */
function fieldType(dtype: string | undefined): TensorType | 'string' | undefined {
  if (!dtype) return undefined;
  if (/^(string|str|bytes|text)$/i.test(dtype)) return 'string';
  return normalizeDtype(dtype);
}

/**
 * The JSON body check of a `js` package that declares inputs: the body is one row object, or
 * `{"instances": [row, …]}`; a row holds every declared input and nothing else, each of its dtype and
 * shape (no shape: a single value). Undefined when the package declares no inputs (its module checks).
 */
export function compileRowCheck(inputs: readonly TensorSpec[]): ((body: unknown) => void) | undefined {
  if (inputs.length === 0) return undefined;
  const fields = inputs.map((s) => ({ name: s.name, fixed: fixedDims(s), element: elementCheck(fieldType(s.dtype)) }));
  const names = new Set(fields.map((f) => f.name));
  const expected = [...names].join(', ');
  const checkRow = (row: unknown, at: string, out: string[]): void => {
    if (!row || typeof row !== 'object' || Array.isArray(row)) {
      out.push(`${at || 'the body'} must be an object with ${expected}, got ${valueType(row)}`);
      return;
    }
    const r = row as Record<string, unknown>;
    for (const f of fields) {
      if (!(f.name in r)) out.push(`${at ? `${at}.` : ''}${f.name} is required`);
      else checkValue(`${at ? `${at}.` : ''}${f.name}`, r[f.name], f.fixed, f.element, out);
    }
    for (const key of Object.keys(r)) if (!names.has(key)) out.push(`${at ? `${at}.` : ''}${key.slice(0, 100)} is not an input of the model (it takes ${expected})`);
  };
  return (body) => {
    const violations: string[] = [];
    if (body && typeof body === 'object' && !Array.isArray(body) && 'instances' in body && !names.has('instances')) {
      const instances = (body as { instances: unknown }).instances;
      if (!Array.isArray(instances) || instances.length === 0) violations.push(`instances must be a non-empty array of rows with ${expected}`);
      else for (let i = 0; i < instances.length && violations.length < MAX_VIOLATIONS; i++) checkRow(instances[i], `instances[${i}]`, violations);
      const extra = Object.keys(body).filter((k) => k !== 'instances');
      if (extra.length) violations.push(`${extra.slice(0, 5).join(', ')}: only "instances" may sit beside the rows`);
    } else {
      checkRow(body, '', violations);
    }
    if (violations.length) throw invalid(violations);
  };
}

/** Checks dims of one decoded input against its declared shape (the tensor handler's rows). */
export function compileShapeCheck(inputs: readonly TensorSpec[]): (name: string, dims: readonly number[]) => void {
  const fixed = new Map(inputs.map((s) => [s.name, fixedDims(s)]));
  return (name, dims) => {
    const problem = shapeViolation(`input ${name}`, dims, fixed.get(name));
    if (problem) throw invalid([problem]);
  };
}
