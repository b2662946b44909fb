import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CapstanError, type ErrorCode } from './errors.js';

/**
 * The one model manifest: `model.json` at the root of every model package. Training writes it (the
 * NCF trainer), the registry checks it when a version is registered, serving reads it to load the
 * model; all three use this module, so a package one accepts the others accept.
 */

/** The manifest file every model package carries at its root (DESIGN §4). */
export const MANIFEST_FILE = 'model.json';

/** Largest `model.json` accepted. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/** The runtimes a model package can name; serving has a runtime for each. */
export const FRAMEWORKS = ['onnx', 'js', 'http', 'python'] as const;

/** One runtime kind. */
export type Framework = (typeof FRAMEWORKS)[number];

/** One input or output of a model signature (`{ name: "user", dtype: "int64", shape: [-1] }`). */
export interface TensorSpec {
  name: string;
  dtype?: string;
  shape?: (number | string | null)[];
}

/**
 * `model.json` of a model package (DESIGN §4): the runtime, the entry file (or URL for `http`), the
 * signature, an optional inference handler (`builtin:ncf-ranking` or a module file in the package),
 * assets by role and free metadata.
 */
export interface ModelManifest {
  name: string;
  framework: Framework;
  /** Model file relative to the package (`model.onnx`, `handler.mjs`, `inference.py`); `http` packages need none. */
  entry: string;
  /** For `http` packages: the external model server's invocation URL (a variant's `url` overrides it). */
  url?: string;
  /** Pre/post-processing around an ONNX model: `builtin:<name>` or a package-relative module path. */
  handler?: string;
  signature: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  /** Media types invocations may carry (`text/csv`, `*\/*`); default JSON only. */
  contentTypes?: string[];
  /** Asset files by role (`userIds: user-ids.json`), relative to the package. */
  assets: Record<string, string>;
  metadata: Record<string, unknown>;
}

/** How a manifest is checked. */
export interface ManifestCheck {
  /** The catalogue code of a refusal: the registry's or serving's; default CAPSTAN_SERVING_MODEL_PACKAGE_INVALID. */
  code?: ErrorCode;
  /** The package's files (`/`-separated relative paths): when given, `entry` must be one of them. */
  files?: readonly string[];
}

type Invalid = (detail: string, fields?: Record<string, unknown>) => CapstanError;

function refusal(code: ErrorCode = 'CAPSTAN_SERVING_MODEL_PACKAGE_INVALID'): Invalid {
  return (detail, fields) => new CapstanError(code, detail, fields ? { fields } : {});
}

/** True when a package-relative path stays inside the package. */
function insidePackage(rel: string): boolean {
  if (rel === '' || path.isAbsolute(rel) || rel.includes('\\') || rel.includes('\0')) return false;
  const normal = path.posix.normalize(rel);
  return !normal.startsWith('../') && normal !== '..';
}

function specs(value: unknown, where: string, invalid: Invalid): TensorSpec[] {
  if (value === undefined) return [];
  // Accept both the list form and the `{ name: { dtype, shape } }` map form exporters write.
  const list = Array.isArray(value)
    ? value
    : value && typeof value === 'object'
      ? Object.entries(value as Record<string, unknown>).map(([name, v]) => ({ name, ...(typeof v === 'object' && v ? v : {}) }))
      : undefined;
  if (!list) throw invalid(`model.json: signature.${where} must be a list of { name, dtype, shape }`);
  return list.map((s, i) => {
    const o = s as Record<string, unknown>;
    if (!o || typeof o.name !== 'string' || !o.name) throw invalid(`model.json: signature.${where}[${i}] has no name`);
    const dtype = (o.dtype ?? o.type ?? o.datatype) as string | undefined;
    const shape = o.shape as TensorSpec['shape'];
    if (shape !== undefined && !Array.isArray(shape)) throw invalid(`model.json: signature.${where}[${i}].shape must be a list`);
    return { name: o.name, ...(dtype ? { dtype: String(dtype) } : {}), ...(shape ? { shape } : {}) };
  });
}

/** Validates a parsed `model.json`; throws `check.code` (default CAPSTAN_SERVING_MODEL_PACKAGE_INVALID) naming the field. */
export function parseManifest(raw: unknown, check: ManifestCheck = {}): ModelManifest {
  const invalid = refusal(check.code);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('model.json must hold a JSON object');
  const o = raw as Record<string, unknown>;
  if (!(FRAMEWORKS as readonly unknown[]).includes(o.framework)) {
    throw invalid(`model.json: "framework" must be one of ${FRAMEWORKS.join(', ')}, got ${JSON.stringify(o.framework ?? null)}`, { framework: String(o.framework ?? '') });
  }
  const framework = o.framework as Framework;
  if (framework !== 'http' && (typeof o.entry !== 'string' || !o.entry)) throw invalid(`model.json: a ${framework} package needs an "entry" naming its model file`);
  if (o.entry !== undefined && (typeof o.entry !== 'string' || !insidePackage(o.entry))) throw invalid('model.json: "entry" must be a path inside the package');
  const entry = typeof o.entry === 'string' ? path.posix.normalize(o.entry) : '';
  if (entry && check.files && !check.files.includes(entry)) throw invalid(`model.json: entry ${JSON.stringify(entry)} is not a file of the package`, { entry });
  if (o.url !== undefined && typeof o.url !== 'string') throw invalid('model.json: "url" must be a string');
  if (o.handler !== undefined && (typeof o.handler !== 'string' || !(o.handler.startsWith('builtin:') || insidePackage(o.handler)))) {
    throw invalid('model.json: "handler" must be builtin:<name> or a path inside the package');
  }
  const assets: Record<string, string> = {};
  if (o.assets !== undefined) {
    if (!o.assets || typeof o.assets !== 'object' || Array.isArray(o.assets)) throw invalid('model.json: "assets" must map roles to files');
    for (const [role, file] of Object.entries(o.assets as Record<string, unknown>)) {
      if (typeof file !== 'string' || !insidePackage(file)) throw invalid(`model.json: assets.${role} must be a path inside the package`);
      assets[role] = file;
    }
  }
  if (o.contentTypes !== undefined && (!Array.isArray(o.contentTypes) || o.contentTypes.length === 0 || !o.contentTypes.every((t) => typeof t === 'string' && /^[\w.+*-]+\/[\w.+*-]+$/.test(t)))) {
    throw invalid('model.json: "contentTypes" must be a non-empty list of media types like text/csv');
  }
  const sig = o.signature ?? {};
  if (!sig || typeof sig !== 'object' || Array.isArray(sig)) throw invalid('model.json: "signature" must be an object');
  const { inputs, outputs } = sig as Record<string, unknown>;
  return {
    name: typeof o.name === 'string' ? o.name : 'model',
    framework,
    entry,
    ...(typeof o.url === 'string' ? { url: o.url } : {}),
    ...(typeof o.handler === 'string' ? { handler: o.handler } : {}),
    ...(o.contentTypes ? { contentTypes: o.contentTypes as string[] } : {}),
    signature: { inputs: specs(inputs, 'inputs', invalid), outputs: specs(outputs, 'outputs', invalid) },
    assets,
    metadata: o.metadata && typeof o.metadata === 'object' && !Array.isArray(o.metadata) ? (o.metadata as Record<string, unknown>) : {},
  };
}

/** Parses the bytes of a `model.json` (at most 1 MiB) and validates it as `parseManifest` does. */
export function parseManifestText(text: string | Buffer, check: ManifestCheck = {}): ModelManifest {
  const invalid = refusal(check.code);
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES) throw invalid(`model.json is larger than ${MAX_MANIFEST_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text.toString());
  } catch (err) {
    throw new CapstanError(check.code ?? 'CAPSTAN_SERVING_MODEL_PACKAGE_INVALID', 'model.json is not valid JSON', { cause: err });
  }
  return parseManifest(raw, check);
}

/** Reads and validates `<dir>/model.json` (serving's view: CAPSTAN_SERVING_MODEL_PACKAGE_INVALID). */
export function readManifest(dir: string): ModelManifest {
  let text: Buffer;
  try {
    text = readFileSync(path.join(dir, MANIFEST_FILE));
  } catch (err) {
    throw new CapstanError('CAPSTAN_SERVING_MODEL_PACKAGE_INVALID', 'the model package has no model.json', { cause: err });
  }
  return parseManifestText(text);
}

/** Absolute path of a package-relative file, refusing anything outside the package. */
export function packagePath(dir: string, rel: string): string {
  if (!insidePackage(rel)) throw refusal()(`${rel} is not a path inside the package`);
  return path.join(dir, path.posix.normalize(rel));
}
