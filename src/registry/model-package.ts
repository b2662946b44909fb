import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { CapstanError } from '../core/errors.js';
import { sha256Of, downloadToDirectory } from '../storage/artifacts/directory-transfer.js';
import { compareKeys, scanLocalDirectory } from '../storage/artifacts/local-tree.js';
import { MANIFEST_FILE, parseManifestText, type ModelManifest } from '../core/model-manifest.js';
import type { PullResult, RegistryService } from './registry-service.js';

/** One file of a package, as the digest sees it. */
export interface PackageFile {
  /** `/`-separated path relative to the package root. */
  path: string;
  /** Hex sha256 of the file's bytes. */
  sha256: string;
}

function packageInvalid(detail: string, fields: Record<string, unknown> = {}): CapstanError {
  return new CapstanError('CAPSTAN_REGISTRY_PACKAGE_INVALID', detail, { fields });
}

/**
 * The content digest of a model package: sha256 over one line `<hex sha256>  <path>\n` per file
 * (the `sha256sum` format), files ordered by the UTF-8 bytes of their `/`-separated relative paths.
 * Any added, removed, renamed or changed file changes it; it does not depend on timestamps, the
 * store or the order files were written. Shown as `sha256:<hex>`.
 */
export function packageDigest(files: readonly PackageFile[]): string {
  const sorted = [...files].sort((a, b) => compareKeys(a.path, b.path));
  const hash = createHash('sha256');
  for (const f of sorted) hash.update(`${f.sha256}  ${f.path}\n`);
  return `sha256:${hash.digest('hex')}`;
}

/** Parses and checks `model.json` (core/model-manifest) against the package's files, as the registry refuses it. */
export function parseManifest(text: string | Buffer, filePaths: readonly string[]): ModelManifest {
  return parseManifestText(text, { code: 'CAPSTAN_REGISTRY_PACKAGE_INVALID', files: filePaths });
}

/** Reads and checks a local package directory before anything is uploaded: its files and manifest. */
export async function inspectLocalPackage(dir: string): Promise<{ files: string[]; manifest: ModelManifest }> {
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw packageInvalid('the model package directory does not exist');
  }
  if (!isDir) throw packageInvalid('the model package must be a directory holding model.json and the model files');
  const files = (await scanLocalDirectory(dir)).map((f) => f.relPath);
  if (!files.includes(MANIFEST_FILE)) throw packageInvalid(`the model package has no ${MANIFEST_FILE} at its root`);
  return { files, manifest: parseManifest(await readFile(path.join(dir, MANIFEST_FILE)), files) };
}

/** Hashes every regular file under a local directory, as `PackageFile`s. */
export async function hashLocalDirectory(dir: string): Promise<PackageFile[]> {
  const files = await scanLocalDirectory(dir);
  const out: PackageFile[] = [];
  for (const f of files) out.push({ path: f.relPath, sha256: (await sha256Of(createReadStream(f.absPath))).sha256 });
  return out;
}

async function checkDestination(dest: string): Promise<boolean> {
  try {
    const st = await stat(dest);
    if (!st.isDirectory() || (await readdir(dest)).length > 0) {
      throw new CapstanError('CAPSTAN_REGISTRY_DESTINATION_NOT_EMPTY', 'the download directory exists and is not empty; choose a new or empty directory');
    }
    return true;
  } catch (err) {
    if (err instanceof CapstanError) throw err;
    return false;
  }
}

/** What `downloadVerifiedPackage` needs to know about the version it fetches. */
export interface PackageDownload {
  name: string;
  version: number;
  digest: string;
  /** Files as `{ key, relPath }`; `open` streams one key. */
  entries: { key: string; relPath: string }[];
  open: (key: string) => Promise<Readable>;
}

/**
 * Downloads a package into a staging directory beside `dest`, recomputes its digest from the bytes on
 * disk and only then moves it into place, so a tampered or corrupted package never appears at
 * `dest` (CAPSTAN_ARTIFACT_DIGEST_MISMATCH instead). `dest` must be absent or empty.
 */
export async function downloadVerifiedPackage(dest: string, pkg: PackageDownload): Promise<string[]> {
  const target = path.resolve(dest);
  const existed = await checkDestination(target);
  await mkdir(path.dirname(target), { recursive: true });
  const staging = `${target}.capstan-${randomBytes(6).toString('hex')}.partial`;
  await mkdir(staging);
  try {
    await downloadToDirectory(pkg.entries, staging, pkg.open);
    const actual = packageDigest(await hashLocalDirectory(staging));
    if (actual !== pkg.digest) {
      throw new CapstanError('CAPSTAN_ARTIFACT_DIGEST_MISMATCH', `model ${pkg.name} version ${pkg.version}: the downloaded package has digest ${actual}, the registry recorded ${pkg.digest}`, {
        fields: { modelName: pkg.name, version: pkg.version, expected: pkg.digest, actual },
      });
    }
    if (existed) await rmdir(target);
    await rename(staging, target);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  return pkg.entries.map((e) => e.relPath).sort(compareKeys);
}

/**
 * `pullVersion` for any registry implementation: resolves the reference, lists the version's files and
 * downloads them with digest verification; `open` is how this side reads one stored object.
 */
export async function pullVerifiedVersion(
  registry: Pick<RegistryService, 'resolve' | 'listVersionFiles'>,
  ref: string,
  directory: string,
  open: (key: string) => Promise<Readable>,
): Promise<PullResult> {
  const v = await registry.resolve(ref);
  const files = await registry.listVersionFiles(v.name, v.version);
  const written = await downloadVerifiedPackage(directory, {
    name: v.name,
    version: v.version,
    digest: v.digest,
    entries: files.map((f) => ({ key: f.key, relPath: f.path })),
    open,
  });
  return { name: v.name, version: v.version, digest: v.digest, directory, files: written };
}
