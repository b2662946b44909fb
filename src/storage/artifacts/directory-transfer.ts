import { realpath } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { CapstanError } from '../../core/errors.js';
import type { ArtifactBody, ArtifactInfo } from './artifact-store.js';
import { openLocalFile, planLocalTargets, scanLocalDirectory, writeLocalFile } from './local-tree.js';
import { directoryPrefix, normalizeKey } from './normalize-key.js';

/** Yields the body as Buffers, whatever form it came in. */
export async function* bodyChunks(body: ArtifactBody): AsyncGenerator<Buffer> {
  if (typeof body === 'string') yield Buffer.from(body);
  else if (Buffer.isBuffer(body)) yield body;
  else if (body instanceof Uint8Array) yield Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  else if (body && typeof (body as Readable)[Symbol.asyncIterator] === 'function') {
    for await (const chunk of body as Readable) yield typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
  } else throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'artifact body must be a Buffer, a string or a readable stream');
}

/** The hex sha256 of a whole stream. */
export async function sha256Of(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** A store as the directory helpers see it. */
export interface TransferTarget {
  put(key: string, body: ArtifactBody): Promise<ArtifactInfo>;
  /** Throws when `key` could not be written (e.g. a file in the way); called for every key before the first write. */
  checkWritable?(key: string): Promise<void>;
}

/**
 * Uploads a local directory below `prefix` (read as a directory): the whole tree is scanned and
 * every key checked first, so a symbolic link, a special file or an unsafe name anywhere refuses the
 * upload before one object is written. Each object is atomic; the upload as a whole is not.
 */
export async function uploadDirectoryToStore(target: TransferTarget, localDir: string, prefix: string): Promise<ArtifactInfo[]> {
  const base = directoryPrefix(prefix);
  const files = await scanLocalDirectory(localDir);
  const keys = files.map((f) => normalizeKey(base + f.relPath));
  if (target.checkWritable) for (const key of keys) await target.checkWritable(key);
  const infos: ArtifactInfo[] = [];
  for (let i = 0; i < files.length; i++) infos.push(await target.put(keys[i], await openLocalFile(files[i])));
  return infos;
}

/** One stored object to download: its key and its path relative to the target directory. */
export interface DownloadEntry {
  key: string;
  relPath: string;
}

/**
 * Downloads entries into `localDir`: every relative path is checked to land inside the directory
 * without passing through a link before anything is written, then each file is written atomically.
 * Returns the absolute paths written, in entry order.
 */
export async function downloadToDirectory(entries: readonly DownloadEntry[], localDir: string, open: (key: string) => Promise<Readable>): Promise<string[]> {
  const targets = await planLocalTargets(localDir, entries.map((e) => e.relPath), 'artifact key');
  const root = await realpath(localDir);
  const written: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    await writeLocalFile(root, targets[i].relPath, await open(entries[i].key));
    written.push(targets[i].absPath);
  }
  return written;
}
