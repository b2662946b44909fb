import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { CapstanError } from '../core/errors.js';
import type { ArtifactInfo, ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { bodyChunks, uploadDirectoryToStore } from '../storage/artifacts/directory-transfer.js';
import { directoryPrefix } from '../storage/artifacts/normalize-key.js';
import { checkModelFile } from './model-file-check.js';
import type { RegistrationPause } from './registration-pause.js';
import { MANIFEST_FILE, type ModelManifest } from '../core/model-manifest.js';
import { inspectLocalPackage, packageDigest, parseManifest } from './model-package.js';

/** Where staged uploads live; a package registered from here is removed after it is copied. */
export const UPLOADS_PREFIX = 'uploads/';

/** A checked package source, ready to be copied into `models/<name>/<version>/`. */
export interface PackageSource {
  /** Copies the package under `destPrefix` and returns what was written. */
  copyTo(destPrefix: string): Promise<ArtifactInfo[]>;
  /** Removes a staged upload once it is registered (a no-op for other sources). */
  cleanup(): Promise<void>;
}

/** The manifest and digest of a package as stored, read back after the copy. */
export interface StoredPackage {
  manifest: ModelManifest;
  digest: string;
  uri: string;
}

function packageInvalid(detail: string): CapstanError {
  return new CapstanError('CAPSTAN_REGISTRY_PACKAGE_INVALID', detail);
}

/**
 * Checks a package source before a version number is handed out, so a bad package changes nothing:
 * a local directory must hold `model.json` (and no links or special files); an artifact URI must
 * lie inside the store (CAPSTAN_ARTIFACT_UNSAFE_PATH otherwise) and hold `model.json` at its root. An
 * ONNX package's graph must load and match its declared signature (`checkModelFile`).
 */
export async function openPackageSource(artifacts: ArtifactStore, input: { packageDir?: string; artifactUri?: string }, pause?: RegistrationPause): Promise<PackageSource> {
  const { packageDir, artifactUri } = input;
  if ((packageDir === undefined) === (artifactUri === undefined)) {
    throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'give exactly one package source: a local directory or an artifact URI in the store');
  }
  if (packageDir !== undefined) {
    if (typeof packageDir !== 'string' || packageDir === '') throw packageInvalid('the package directory must be a path');
    const { manifest } = await inspectLocalPackage(packageDir);
    await checkModelFile(manifest, () => readFile(path.join(packageDir, manifest.entry!)));
    return { copyTo: (dest) => (pause ? pausingUpload(artifacts, packageDir, dest, pause) : artifacts.uploadDirectory(packageDir, dest)), cleanup: async () => {} };
  }
  if (typeof artifactUri !== 'string' || artifactUri === '') throw packageInvalid('the artifact URI must be a string');
  const prefix = directoryPrefix(artifacts.keyFor(artifactUri.replace(/\/+$/, '')));
  if (prefix === '') throw new CapstanError('CAPSTAN_ARTIFACT_UNSAFE_PATH', 'the artifact URI names the whole store, not a model package');
  const objects = await artifacts.list(prefix);
  if (objects.length === 0) throw packageInvalid(`no model package at ${artifactUri}: the store holds nothing under it`);
  const files = objects.map((o) => o.key.slice(prefix.length));
  if (!files.includes(MANIFEST_FILE)) throw packageInvalid(`the model package at ${artifactUri} has no ${MANIFEST_FILE} at its root`);
  const manifest = parseManifest(await artifacts.get(prefix + MANIFEST_FILE), files);
  await checkModelFile(manifest, () => artifacts.get(prefix + manifest.entry!));
  return {
    async copyTo(dest) {
      const out: ArtifactInfo[] = [];
      for (const o of objects) {
        out.push(await artifacts.copy(o.key, dest + o.key.slice(prefix.length)));
        if (out.length === 1) await pause?.('uploading');
      }
      return out;
    },
    async cleanup() {
      if (prefix.startsWith(UPLOADS_PREFIX)) await artifacts.deletePrefix(prefix);
    },
  };
}

/**
 * Test only: the upload of a local package with the `uploading` point in its middle — after the first
 * file is stored, while the second is half written (its first chunk is in the store's staging area).
 */
function pausingUpload(artifacts: ArtifactStore, dir: string, dest: string, pause: RegistrationPause): Promise<ArtifactInfo[]> {
  let puts = 0;
  return uploadDirectoryToStore(
    {
      put(key, body) {
        const second = ++puts === 2;
        async function* chunks() {
          let first = true;
          for await (const chunk of bodyChunks(body)) {
            yield chunk;
            if (second && first) await pause('uploading');
            first = false;
          }
        }
        return artifacts.put(key, Readable.from(chunks()));
      },
    },
    dir,
    dest,
  );
}

/** Reads back a copied package: its manifest (checked again, on the stored bytes) and content digest. */
export async function readStoredPackage(artifacts: ArtifactStore, destPrefix: string, written: ArtifactInfo[]): Promise<StoredPackage> {
  const files = written.map((w) => ({ path: w.key.slice(destPrefix.length), sha256: w.sha256 }));
  const manifest = parseManifest(await artifacts.get(destPrefix + MANIFEST_FILE), files.map((f) => f.path));
  return { manifest, digest: packageDigest(files), uri: artifacts.uriFor(destPrefix.replace(/\/$/, '')) };
}

/** True when `p` is an existing regular file (run artifacts may be one file or a directory). */
export async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    throw new CapstanError('CAPSTAN_ARTIFACT_NOT_FOUND', 'the local path to upload does not exist');
  }
}
