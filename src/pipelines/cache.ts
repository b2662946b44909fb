import { createHash } from 'node:crypto';

/**
 * The step cache key: sha256 over a canonical JSON of
 *   - `step`: the step definition with every reference resolved, except that references to
 *     upstream outputs are replaced by those outputs' content digests (an identical upstream result
 *     produced by another execution has another URI but the same digest), and with command steps'
 *     input URIs left out — the inputs count by content only;
 *   - `inputs`: the content digest of every input channel;
 *   - `code`: the digest of the pipeline's code snapshot (or null);
 *   - `version`: the key format's version, bumped when this recipe changes.
 * Retry, timeout, cache and description fields are left out: they do not change the result.
 */
export interface CacheKeyParts {
  step: Record<string, unknown>;
  inputs: Record<string, string>;
  code: string | null;
}

const KEY_VERSION = 1;
const IGNORED = new Set(['retry', 'timeoutMs', 'cache', 'description', 'dependsOn']);

/** Canonical JSON: object keys sorted, undefined dropped. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Computes the cache key (`sha256:<hex>`). */
export function cacheKey(parts: CacheKeyParts): string {
  const step = Object.fromEntries(Object.entries(parts.step).filter(([k]) => !IGNORED.has(k)));
  const text = canonicalJson({ version: KEY_VERSION, step, inputs: parts.inputs, code: parts.code });
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}
