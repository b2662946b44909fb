import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CapstanError } from '../../core/errors.js';
import type { ArtifactInfo, ArtifactStore } from './artifact-store.js';
import { normalizeKey, normalizePrefix } from './normalize-key.js';

/** An object's info with the URI a pipeline parameter or registry record uses for it. */
export interface StoredArtifact extends ArtifactInfo {
  uri: string;
}

/**
 * Moving files in and out of the artifact store from the CLI: the embedded store and the server
 * (`PUT/GET /api/v1/artifacts/…`) implement the same operations, so `capstan artifacts` works in both.
 */
export interface ArtifactsService {
  /** Uploads one local file to `key` atomically. */
  upload(localPath: string, key: string): Promise<StoredArtifact>;
  /** Objects under a key prefix, sorted by key. */
  list(prefix: string): Promise<StoredArtifact[]>;
  /** Downloads one object to a local file, which appears only once complete. */
  download(key: string, localPath: string): Promise<StoredArtifact>;
}

/** Checks that a local upload source is a regular file, so a typo answers before anything is written. */
export function assertLocalFile(localPath: string): void {
  const st = statSync(localPath, { throwIfNoEntry: false });
  if (!st) throw new CapstanError('CAPSTAN_ARTIFACT_LOCAL_FILE_INVALID', `${path.basename(localPath)} does not exist`, { fields: { path: localPath } });
  if (!st.isFile()) throw new CapstanError('CAPSTAN_ARTIFACT_LOCAL_FILE_INVALID', `${path.basename(localPath)} is not a regular file`, { fields: { path: localPath } });
}

/** Writes a stream to `localPath` through a temporary sibling, so a failed download leaves nothing behind. */
export async function writeFileAtomically(localPath: string, source: NodeJS.ReadableStream): Promise<void> {
  await mkdir(path.dirname(path.resolve(localPath)), { recursive: true });
  const tmp = `${localPath}.capstan-partial-${process.pid}`;
  try {
    await pipeline(source, createWriteStream(tmp));
    await rename(tmp, localPath);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Throws to refuse a write to a key (e.g. a registered model version's files). */
export type WriteGuard = (key: string) => void;

/** The embedded implementation, straight on the configured store. */
export class LocalArtifactsService implements ArtifactsService {
  /** `guard` checks every key before it is written; default: any key may be written. */
  constructor(
    private readonly store: ArtifactStore,
    private readonly guard: WriteGuard = () => {},
  ) {}

  private withUri(info: ArtifactInfo): StoredArtifact {
    return { ...info, uri: this.store.uriFor(info.key) };
  }

  /** @inheritdoc */
  async upload(localPath: string, key: string): Promise<StoredArtifact> {
    const normalized = normalizeKey(key);
    assertLocalFile(localPath);
    this.guard(normalized);
    return this.withUri(await this.store.put(normalized, createReadStream(localPath)));
  }

  /** @inheritdoc */
  async list(prefix: string): Promise<StoredArtifact[]> {
    return (await this.store.list(normalizePrefix(prefix))).map((i) => this.withUri(i));
  }

  /** @inheritdoc */
  async download(key: string, localPath: string): Promise<StoredArtifact> {
    const normalized = normalizeKey(key);
    const info = await this.store.stat(normalized);
    if (!info) throw new CapstanError('CAPSTAN_ARTIFACT_NOT_FOUND', `no artifact ${normalized}`, { fields: { key: normalized } });
    await writeFileAtomically(localPath, await this.store.stream(normalized));
    return this.withUri(info);
  }
}
