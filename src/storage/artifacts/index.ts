import path from 'node:path';
import { CapstanError } from '../../core/errors.js';
import type { CapstanConfig } from '../../core/config.js';
import type { ArtifactStore } from './artifact-store.js';
import { FileArtifactStore } from './file-artifact-store.js';
import { S3ArtifactStore } from './s3-artifact-store.js';

export type { ArtifactBody, ArtifactInfo, ArtifactStore } from './artifact-store.js';
export { FileArtifactStore } from './file-artifact-store.js';
export { S3ArtifactStore, type S3ArtifactStoreOptions } from './s3-artifact-store.js';
export { directoryPrefix, isSafeKey, normalizeKey, normalizePrefix, normalizeRelativePath, RESERVED_SEGMENTS } from './normalize-key.js';
export { createTar, extractTarSafely, type ExtractResult } from './safe-extract.js';

/** Bucket names as S3 allows them (3–63 lower-case letters, digits, dots and hyphens). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A parsed artifact store URI. */
export type ArtifactLocation = { kind: 'file'; dir: string } | { kind: 's3'; bucket: string; prefix: string };

function invalid(why: string): CapstanError {
  return new CapstanError('CAPSTAN_ARTIFACT_URI_INVALID', `artifacts: ${why}`, { fields: { setting: 'artifacts' } });
}

/**
 * Parses `file://<dir>` (taken literally; a relative dir resolves against `cwd`) or
 * `s3://bucket[/prefix]`. Throws CAPSTAN_ARTIFACT_URI_INVALID for anything else.
 */
export function parseArtifactUri(uri: string, cwd = process.cwd()): ArtifactLocation {
  if (typeof uri !== 'string') throw invalid('expected file://<dir> or s3://<bucket>/<prefix>');
  if (uri.includes('\0')) throw invalid('the URI contains a NUL byte');
  if (uri.startsWith('file://')) {
    const dir = uri.slice('file://'.length);
    if (dir === '') throw invalid('file:// needs a directory');
    return { kind: 'file', dir: path.resolve(cwd, dir) };
  }
  if (uri.startsWith('s3://')) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const rawPrefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    if (!BUCKET.test(bucket) || bucket.includes('..')) throw invalid(`${JSON.stringify(bucket)} is not a valid S3 bucket name`);
    const segments = rawPrefix === '' ? [] : rawPrefix.split('/');
    for (const s of segments) {
      // eslint-disable-next-line no-control-regex
      if (s === '' || s === '.' || s === '..' || /[\\\u0000-\u001f%]/.test(s)) throw invalid(`${JSON.stringify(rawPrefix)} is not a valid key prefix`);
    }
    return { kind: 's3', bucket, prefix: segments.join('/') };
  }
  throw invalid(`${JSON.stringify(uri.slice(0, 80))} is neither file://<dir> nor s3://<bucket>/<prefix>`);
}

/**
 * The artifact store named by `config.artifacts`: a `FileArtifactStore` (directory created when
 * missing) or an `S3ArtifactStore` using `config.s3` (the bucket must exist).
 */
export async function createArtifactStore(config: CapstanConfig): Promise<ArtifactStore> {
  const location = parseArtifactUri(config.artifacts);
  if (location.kind === 'file') return FileArtifactStore.open(location.dir);
  return new S3ArtifactStore({ bucket: location.bucket, prefix: location.prefix, s3: config.s3 });
}
