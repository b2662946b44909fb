import { CapstanError } from '../core/errors.js';

/**
 * `${…}` references inside step fields. They name a parameter, another step's output artifact,
 * property or metric, or the execution itself; they are checked when a pipeline is validated and
 * resolved just before the step runs.
 */

/** One parsed reference. */
export type Reference =
  | { kind: 'param'; name: string; text: string }
  | { kind: 'output'; step: string; name: string; text: string }
  | { kind: 'property'; step: string; path: string[]; text: string }
  | { kind: 'metric'; step: string; name: string; text: string }
  | { kind: 'execution'; field: 'id' | 'pipeline'; text: string };

// `$${…}` is a literal `${…}` (shell parameter expansion in commands), never a reference.
const REF = /(?<!\$)\$\{\s*([^}]*?)\s*\}/g;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Parses the inside of one `${…}`; returns an error message instead when it is not a known form. */
export function parseReference(inner: string): Reference | string {
  const parts = inner.split('.');
  const text = `\${${inner}}`;
  const ok = (s: string | undefined) => s !== undefined && /^[A-Za-z0-9_-]+$/.test(s);
  if (parts[0] === 'params' && parts.length === 2 && ok(parts[1])) return { kind: 'param', name: parts[1], text };
  if (parts[0] === 'execution' && parts.length === 2 && (parts[1] === 'id' || parts[1] === 'pipeline')) {
    return { kind: 'execution', field: parts[1], text };
  }
  if (parts[0] === 'steps' && parts.length >= 4 && ok(parts[1])) {
    const [, step, what, ...rest] = parts;
    if (what === 'outputs' && rest.length === 1 && ok(rest[0])) return { kind: 'output', step, name: rest[0], text };
    if (what === 'metrics' && rest.length === 1 && ok(rest[0])) return { kind: 'metric', step, name: rest[0], text };
    if (what === 'properties' && rest.every((p) => SEGMENT.test(p))) return { kind: 'property', step, path: rest, text };
  }
  return `unknown reference ${text}: use \${params.<name>}, \${steps.<step>.outputs.<name>}, \${steps.<step>.properties.<path>}, \${steps.<step>.metrics.<name>} or \${execution.id}`;
}

/** Every reference in a string (parsed or, for bad ones, the error message). */
export function referencesIn(value: string): (Reference | string)[] {
  return [...value.matchAll(REF)].map((m) => parseReference(m[1]));
}

/** Every reference anywhere in a JSON-like value, with the dotted sub-path where it was found. */
export function collectReferences(value: unknown, at: (string | number)[] = []): { path: (string | number)[]; ref: Reference | string }[] {
  if (typeof value === 'string') return referencesIn(value).map((ref) => ({ path: at, ref }));
  if (Array.isArray(value)) return value.flatMap((v, i) => collectReferences(v, [...at, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => collectReferences(v, [...at, k]));
  return [];
}

/** Run-time values references resolve against. */
export interface ReferenceScope {
  params: Record<string, unknown>;
  steps: Record<string, { outputs: Record<string, { uri: string }>; properties: Record<string, unknown>; metrics: Record<string, number> }>;
  execution: { id: string; pipeline: string };
}

function lookup(ref: Reference, scope: ReferenceScope): unknown {
  switch (ref.kind) {
    case 'param':
      return scope.params[ref.name];
    case 'execution':
      return scope.execution[ref.field];
    case 'output':
      return scope.steps[ref.step]?.outputs[ref.name]?.uri;
    case 'metric':
      return scope.steps[ref.step]?.metrics[ref.name];
    case 'property': {
      let v: unknown = scope.steps[ref.step]?.properties;
      for (const p of ref.path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
      return v;
    }
  }
}

/**
 * Resolves references in a string. A string that is exactly one reference takes the referenced
 * value with its type (a number stays a number); references inside longer text are stringified.
 */
export function resolveString(value: string, scope: ReferenceScope): unknown {
  const whole = /^\$\{\s*([^}]*?)\s*\}$/.exec(value);
  const resolveOne = (inner: string): unknown => {
    const ref = parseReference(inner);
    if (typeof ref === 'string') throw new CapstanError('CAPSTAN_PIPELINE_REFERENCE_UNRESOLVED', ref);
    const v = lookup(ref, scope);
    if (v === undefined) throw new CapstanError('CAPSTAN_PIPELINE_REFERENCE_UNRESOLVED', `${ref.text} has no value in this execution`, { fields: { reference: ref.text } });
    return v;
  };
  if (whole) return resolveOne(whole[1]);
  return value
    .replace(REF, (_m, inner: string) => {
      const v = resolveOne(inner);
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    })
    .replaceAll('$${', '${');
}

/** Resolves every reference in a JSON-like value. */
export function resolveValue<T>(value: T, scope: ReferenceScope): T {
  if (typeof value === 'string') return resolveString(value, scope) as T;
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, scope)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveValue(v, scope)])) as T;
  }
  return value;
}

/** The steps a value refers to. */
export function referencedSteps(value: unknown): Set<string> {
  const out = new Set<string>();
  for (const { ref } of collectReferences(value)) if (typeof ref !== 'string' && 'step' in ref) out.add(ref.step);
  return out;
}
