import { CapstanError } from '../../core/errors.js';

/**
 * Top-level key segments the stores keep for themselves: `.staging/` holds uploads that are not yet
 * published and `.meta/` the file store's digest sidecars. Keys under them are refused so a client
 * can neither read a half-written upload nor forge a digest.
 */
export const RESERVED_SEGMENTS: readonly string[] = ['.staging', '.meta'];

/** Longest key accepted, in UTF-8 bytes (S3's own limit). */
export const MAX_KEY_BYTES = 1024;

/** Longest key segment accepted, in UTF-8 bytes (the NAME_MAX of common file systems, so both stores agree). */
export const MAX_SEGMENT_BYTES = 255;

/**
 * Characters no key may hold: controls (Cc), format characters (Cf: bidi controls such as U+202E,
 * zero-width characters, U+FEFF), unassigned code points (Cn), private use (Co), lone surrogates (Cs)
 * and the line/paragraph separators. A key is a name people read and tools display; these make one
 * name look like another or cannot be shown at all.
 */
const REFUSED_CHARACTERS = /[\p{C}\p{Zl}\p{Zp}]/u;

/** How many rounds of percent-decoding are tried before a key is declared hostile. */
const MAX_DECODE_ROUNDS = 8;

/** What is being checked, for the error message (`artifact key`, `prefix`, `archive entry`). */
export interface PathCheckOptions {
  /** Noun used in error messages; default `artifact key`. */
  what?: string;
  /** Allow the empty string (a prefix meaning "everything"); default false. */
  allowEmpty?: boolean;
  /** Keep one trailing `/` (prefixes, directory entries); default false (refused). */
  allowTrailingSlash?: boolean;
  /** Allow keys under RESERVED_SEGMENTS; default false. */
  allowReserved?: boolean;
}

function show(value: string): string {
  const shown = value.length > 120 ? `${value.slice(0, 120)}…` : value;
  return JSON.stringify(shown);
}

function unsafe(what: string, value: string, why: string): CapstanError {
  return new CapstanError('CAPSTAN_ARTIFACT_UNSAFE_PATH', `${what} ${show(value)} ${why}`, { fields: { reason: why } });
}

function invalid(what: string, value: string, why: string): CapstanError {
  return new CapstanError('CAPSTAN_ARTIFACT_KEY_INVALID', `${what} ${show(value)} ${why}`, { fields: { reason: why } });
}

/**
 * Decodes one round of `%XX` escapes. Returns undefined when the escapes do not form valid UTF-8:
 * such keys are refused because some decoders accept overlong forms (`%c0%ae` for `.`).
 */
function decodeOnce(value: string): string | undefined {
  if (!/%[0-9a-fA-F]{2}/.test(value)) return value;
  // Only well-formed escapes are decoded; a lone `%` (as in `100%`) stays literal.
  try {
    return value.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => decodeURIComponent(run));
  } catch {
    return undefined;
  }
}

/**
 * Every form a hostile layer might turn the key into: the key itself, each percent-decoding round
 * until the value is stable, and the NFKC form of each (fullwidth `．．／` folds to `../`).
 */
function decodedForms(raw: string, what: string): string[] {
  const forms: string[] = [];
  let current = raw;
  for (let round = 0; ; round++) {
    forms.push(current, current.normalize('NFKC'));
    const next = decodeOnce(current);
    if (next === undefined) throw invalid(what, raw, 'contains percent-escapes that are not valid UTF-8');
    if (next === current) return forms;
    if (round >= MAX_DECODE_ROUNDS) throw unsafe(what, raw, 'is percent-encoded too many times');
    current = next;
  }
}

function checkCharacters(form: string, raw: string, what: string): void {
  const bad = REFUSED_CHARACTERS.exec(form);
  if (!bad) return;
  const codePoint = `U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  // eslint-disable-next-line no-control-regex
  const kind = /[\u0000-\u001f\u007f-\u009f]/.test(bad[0]) ? 'a control character' : 'a character that is not printable';
  throw invalid(what, raw, `contains ${kind} (${codePoint})`);
}

function checkForm(form: string, raw: string, what: string): void {
  if (form.includes('\0')) throw unsafe(what, raw, 'contains a NUL byte');
  if (form.includes('\\')) throw unsafe(what, raw, 'contains a backslash');
  if (form.startsWith('/')) throw unsafe(what, raw, 'is an absolute path');
  if (/^[a-zA-Z]:/.test(form)) throw unsafe(what, raw, 'is an absolute path (drive letter)');
  if (form.split('/').includes('..')) throw unsafe(what, raw, 'contains a ".." segment');
}

/**
 * Checks and normalises a `/`-separated relative path: refuses `..` segments, absolute paths
 * (`/x`, `C:\x`), backslashes and NUL bytes, in the raw value and after every round of
 * percent-decoding (so `%2e%2e%2f` and `%252e%252e%252f` are caught); refuses control, format
 * (bidi, zero-width), unassigned and private-use characters, also percent-encoded, segments over
 * 255 bytes and keys over 1024 bytes. Returns the key in NFC with empty and `.` segments removed. The stored key is
 * never decoded: `%41` stays the three characters `%41`.
 */
export function normalizeRelativePath(value: unknown, options: PathCheckOptions = {}): string {
  const what = options.what ?? 'artifact key';
  if (typeof value !== 'string') throw invalid(what, String(value), 'must be a string');
  if (value === '') {
    if (options.allowEmpty) return '';
    throw invalid(what, value, 'must not be empty');
  }
  for (const form of decodedForms(value, what)) checkForm(form, value, what);
  for (const form of decodedForms(value, what)) checkCharacters(form, value, what);
  const trailing = value.endsWith('/');
  if (trailing && !options.allowTrailingSlash) throw invalid(what, value, 'must not end with "/"');
  const segments = value.normalize('NFC').split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0) {
    if (options.allowEmpty) return '';
    throw invalid(what, value, 'has no name in it');
  }
  if (!options.allowReserved && RESERVED_SEGMENTS.includes(segments[0])) {
    throw unsafe(what, value, `is inside the reserved area "${segments[0]}/"`);
  }
  const long = segments.find((segment) => Buffer.byteLength(segment) > MAX_SEGMENT_BYTES);
  if (long) throw invalid(what, value, `has a segment longer than ${MAX_SEGMENT_BYTES} bytes`);
  const key = segments.join('/') + (trailing ? '/' : '');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw invalid(what, value, `is longer than ${MAX_KEY_BYTES} bytes`);
  return key;
}

/**
 * The normalised form of an artifact key (`models/ncf/3/model.onnx`). Throws
 * CAPSTAN_ARTIFACT_UNSAFE_PATH for anything that could leave the store root or reach the reserved
 * staging area, and CAPSTAN_ARTIFACT_KEY_INVALID for empty, malformed or over-long keys.
 */
export function normalizeKey(key: unknown): string {
  return normalizeRelativePath(key, { what: 'artifact key' });
}

/**
 * The normalised form of a listing prefix: like `normalizeKey`, but the empty prefix (everything)
 * and a trailing `/` are allowed. `models/ncf` matches `models/ncf/…` and `models/ncf2/…`.
 */
export function normalizePrefix(prefix: unknown): string {
  return normalizeRelativePath(prefix, { what: 'artifact prefix', allowEmpty: true, allowTrailingSlash: true });
}

/** A prefix read as a directory: `models/ncf` becomes `models/ncf/`, the empty prefix stays empty. */
export function directoryPrefix(prefix: unknown): string {
  const p = normalizePrefix(prefix);
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

/** True when `key` is a safe, normalised key (the same rules as `normalizeKey`, without throwing). */
export function isSafeKey(key: string): boolean {
  try {
    return normalizeKey(key) === key;
  } catch {
    return false;
  }
}

/** The URI of `key` in a store rooted at `rootUri` (`file:///…/artifacts` or `s3://bucket/prefix`). */
export function uriInStore(rootUri: string, key: string): string {
  return `${rootUri}/${normalizeKey(key)}`;
}

/** The key of a URI inside the store rooted at `rootUri`; CAPSTAN_ARTIFACT_UNSAFE_PATH for a URI outside it. */
export function keyInStore(rootUri: string, uri: string): string {
  if (typeof uri !== 'string' || !uri.startsWith(`${rootUri}/`)) {
    throw new CapstanError('CAPSTAN_ARTIFACT_UNSAFE_PATH', 'the URI is not inside this artifact store');
  }
  return normalizeKey(uri.slice(rootUri.length + 1));
}
