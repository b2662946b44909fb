import { CapstanError } from '../core/errors.js';
import { assertName, isValidName } from '../core/names.js';

/** A parsed model reference: a model name and either a version number, `latest`, or an alias. */
export type ModelRef =
  | { name: string; kind: 'version'; version: number }
  | { name: string; kind: 'latest' }
  | { name: string; kind: 'alias'; alias: string };

/** Words that cannot be aliases because references use them. */
const RESERVED_ALIASES = new Set(['latest']);

function invalidRef(ref: string, why: string): CapstanError {
  return new CapstanError('CAPSTAN_REGISTRY_REF_INVALID', `model reference ${JSON.stringify(ref.slice(0, 120))} is not valid: ${why}`, { fields: { ref: ref.slice(0, 120) } });
}

/** Parses a version number: a positive integer without sign, exponent or leading zeros. */
export function parseVersionNumber(text: string | number): number | undefined {
  const s = String(text);
  if (!/^[1-9]\d{0,8}$/.test(s)) return undefined;
  return Number(s);
}

/** Returns `version` when it is a positive integer, otherwise throws CAPSTAN_REGISTRY_VERSION_NOT_FOUND naming the model. */
export function assertVersionNumber(name: string, version: unknown): number {
  const n = typeof version === 'number' || typeof version === 'string' ? parseVersionNumber(version) : undefined;
  if (n === undefined) {
    throw new CapstanError('CAPSTAN_REGISTRY_VERSION_NOT_FOUND', `model ${name} has no version ${JSON.stringify(version)}: versions are positive integers`, {
      fields: { modelName: name, version: String(version) },
    });
  }
  return n;
}

/** Returns `alias` when it is a valid, unreserved alias name; otherwise CAPSTAN_REGISTRY_ALIAS_INVALID. */
export function assertAlias(alias: unknown): string {
  if (!isValidName(alias)) {
    throw new CapstanError('CAPSTAN_REGISTRY_ALIAS_INVALID', `alias ${JSON.stringify(String(alias).slice(0, 80))} is not valid: use 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit`, {
      fields: { alias: String(alias).slice(0, 80) },
    });
  }
  if (RESERVED_ALIASES.has(alias) || /^\d+$/.test(alias)) {
    throw new CapstanError('CAPSTAN_REGISTRY_ALIAS_INVALID', `alias ${JSON.stringify(alias)} is reserved: an alias cannot be "latest" or a number`, { fields: { alias } });
  }
  return alias;
}

/**
 * Parses `models:/name@alias`, `models:/name/3`, `models:/name/latest` and the same without the
 * `models:/` scheme. A bare `name` is not a reference to a version; callers that accept it (`show`)
 * check for it first.
 */
export function parseModelRef(ref: string): ModelRef {
  if (typeof ref !== 'string' || ref.length === 0) throw invalidRef(String(ref ?? ''), 'it is empty');
  const body = ref.startsWith('models:/') ? ref.slice('models:/'.length) : ref;
  const at = body.indexOf('@');
  const slash = body.indexOf('/');
  if (at >= 0 && slash >= 0) throw invalidRef(ref, 'use name@alias or name/version, not both');
  if (at < 0 && slash < 0) throw invalidRef(ref, 'expected name@alias or name/version (for example models:/ncf@champion or ncf/3)');
  const sep = at >= 0 ? at : slash;
  const name = body.slice(0, sep);
  const rest = body.slice(sep + 1);
  if (!isValidName(name)) throw invalidRef(ref, `${JSON.stringify(name)} is not a valid model name`);
  if (at >= 0) {
    if (!isValidName(rest)) throw invalidRef(ref, `${JSON.stringify(rest)} is not a valid alias`);
    if (rest === 'latest') return { name, kind: 'latest' };
    return { name, kind: 'alias', alias: rest };
  }
  if (rest === 'latest') return { name, kind: 'latest' };
  const version = parseVersionNumber(rest);
  if (version === undefined) throw invalidRef(ref, `${JSON.stringify(rest)} is not a version number`);
  return { name, kind: 'version', version };
}

/** True when `text` is a bare model name rather than a version reference. */
export function isBareModelName(text: string): boolean {
  const body = text.startsWith('models:/') ? text.slice('models:/'.length) : text;
  return !body.includes('@') && !body.includes('/') && isValidName(body);
}

/** The canonical text of a reference (`models:/ncf/3`, `models:/ncf@champion`). */
export function formatModelRef(ref: ModelRef): string {
  if (ref.kind === 'version') return `models:/${ref.name}/${ref.version}`;
  if (ref.kind === 'latest') return `models:/${ref.name}/latest`;
  return `models:/${ref.name}@${ref.alias}`;
}

/** Checks a model name with the registry's wording. */
export function assertModelName(name: unknown): string {
  return assertName(name, 'model name');
}
