import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArtifactInfo, ArtifactStore } from '../storage/artifacts/artifact-store.js';

/** Local copies of stored objects for DuckDB to read, released by `dispose`. */
export interface LocalFiles {
  /** One local path per requested key, in order. */
  paths: string[];
  /** A scratch directory for the operation's own files. */
  scratch: string;
  dispose(): Promise<void>;
}

/**
 * Gives DuckDB local files for objects of the artifact store: with a `file://` store it reads the
 * stored files in place; with S3 it downloads them to a scratch directory first (DuckDB's httpfs
 * would download an extension at run time, which Capstan never does; decision 0013).
 */
export class OfflineFiles {
  constructor(
    private readonly artifacts: ArtifactStore,
    private readonly scratchRoot: string,
  ) {}

  /** The offline prefix of one group version. */
  static groupPrefix(group: string, version: number): string {
    return `features/offline/${group}/v${version}/`;
  }

  /** The key of one event-date partition's file. */
  static partitionKey(group: string, version: number, date: string): string {
    return `${OfflineFiles.groupPrefix(group, version)}event_date=${date}/data.parquet`;
  }

  /** Every Parquet object of a group version. */
  async partitionKeys(group: string, version: number): Promise<string[]> {
    const infos = await this.artifacts.list(OfflineFiles.groupPrefix(group, version));
    return infos.map((i) => i.key).filter((k) => k.endsWith('.parquet'));
  }

  /** True when the store is a local directory DuckDB can read in place. */
  private localRoot(): string | undefined {
    return this.artifacts.rootUri.startsWith('file://') ? this.artifacts.rootUri.slice('file://'.length) : undefined;
  }

  /** Local paths for `keys` plus a scratch directory. */
  async open(keys: string[]): Promise<LocalFiles> {
    await mkdir(this.scratchRoot, { recursive: true });
    const scratch = await mkdtemp(path.join(this.scratchRoot, 'op-'));
    const dispose = () => rm(scratch, { recursive: true, force: true });
    try {
      const root = this.localRoot();
      const paths: string[] = [];
      for (const [i, key] of keys.entries()) {
        if (root) paths.push(path.join(root, key));
        else {
          const local = path.join(scratch, `in-${i}${path.extname(key)}`);
          await pipeline(await this.artifacts.stream(key), createWriteStream(local));
          paths.push(local);
        }
      }
      return { paths, scratch, dispose };
    } catch (err) {
      await dispose();
      throw err;
    }
  }

  /** Publishes a local file under `key` (atomically, through the artifact store). */
  async publish(localPath: string, key: string): Promise<ArtifactInfo> {
    return this.artifacts.put(key, createReadStream(localPath));
  }
}
