import { CapstanError } from '../core/errors.js';

/** One step of a compiled path: a key, an index, a slice, or a union (last step only). */
type Step =
  | { kind: 'key'; key: string }
  | { kind: 'index'; index: number }
  | { kind: 'slice'; start?: number; end?: number }
  | { kind: 'keys'; keys: string[] }
  | { kind: 'indices'; indices: number[] };

/** A compiled JSONPath filter: applied to a record, it returns the selected value (undefined when absent). */
export type JsonPathFilter = (value: unknown) => unknown;

function bad(path: string, why: string): CapstanError {
  return new CapstanError('CAPSTAN_BATCH_FILTER_INVALID', `JSONPath ${JSON.stringify(path)}: ${why}`, { fields: { path }, retryable: false });
}

function parseBracket(path: string, inner: string): Step {
  const parts = inner.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw bad(path, `empty member in [${inner}]`);
  const quoted = (p: string) => /^'[^']*'$|^"[^"]*"$/.test(p);
  if (parts.every(quoted)) {
    const keys = parts.map((p) => p.slice(1, -1));
    return keys.length === 1 ? { kind: 'key', key: keys[0] } : { kind: 'keys', keys };
  }
  if (parts.length === 1 && /^-?\d*:-?\d*$/.test(parts[0])) {
    const [a, b] = parts[0].split(':');
    return { kind: 'slice', start: a === '' ? undefined : Number(a), end: b === '' ? undefined : Number(b) };
  }
  if (parts.every((p) => /^-?\d+$/.test(p))) {
    const indices = parts.map(Number);
    return indices.length === 1 ? { kind: 'index', index: indices[0] } : { kind: 'indices', indices };
  }
  throw bad(path, `unsupported selector [${inner}] (supported: ['name'], ['a','b'], [n], [n,m], [n:m])`);
}

/** Parses the supported JSONPath subset: `$`, `.name`, `['name']`, `['a','b']`, `[n]`, `[n,m]`, `[n:m]`. */
export function parseJsonPath(path: string): Step[] {
  if (typeof path !== 'string' || !path.startsWith('$')) throw bad(String(path), 'must start with $');
  const steps: Step[] = [];
  let i = 1;
  while (i < path.length) {
    if (path[i] === '.') {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(path.slice(i + 1));
      if (!m) throw bad(path, `expected a member name at position ${i + 1}`);
      steps.push({ kind: 'key', key: m[0] });
      i += 1 + m[0].length;
    } else if (path[i] === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) throw bad(path, `unclosed [ at position ${i}`);
      steps.push(parseBracket(path, path.slice(i + 1, close)));
      i = close + 1;
    } else throw bad(path, `unexpected ${JSON.stringify(path[i])} at position ${i}`);
  }
  steps.forEach((s, n) => {
    if ((s.kind === 'keys' || s.kind === 'indices' || s.kind === 'slice') && n !== steps.length - 1) throw bad(path, 'a union or slice must be the last selector');
  });
  return steps;
}

function at(list: unknown[], index: number): unknown {
  return list[index < 0 ? list.length + index : index];
}

/** Compiles a filter once; `$` (the default) is the identity. */
export function compileJsonPath(path: string): JsonPathFilter {
  const steps = parseJsonPath(path);
  if (steps.length === 0) return (v) => v;
  return (value) => {
    let cur: unknown = value;
    for (const s of steps) {
      if (cur === undefined || cur === null) return undefined;
      switch (s.kind) {
        case 'key':
          cur = typeof cur === 'object' && !Array.isArray(cur) ? (cur as Record<string, unknown>)[s.key] : undefined;
          break;
        case 'index':
          cur = Array.isArray(cur) ? at(cur, s.index) : undefined;
          break;
        case 'slice':
          cur = Array.isArray(cur) ? cur.slice(s.start, s.end) : undefined;
          break;
        case 'keys': {
          if (typeof cur !== 'object' || Array.isArray(cur)) return undefined;
          const out: Record<string, unknown> = {};
          for (const k of s.keys) if ((cur as Record<string, unknown>)[k] !== undefined) out[k] = (cur as Record<string, unknown>)[k];
          cur = out;
          break;
        }
        case 'indices':
          cur = Array.isArray(cur) ? s.indices.map((i) => at(cur as unknown[], i)) : undefined;
          break;
      }
    }
    return cur;
  };
}
