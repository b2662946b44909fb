import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CapstanError, isCapstanError } from '../../core/errors.js';
import { normalizeRelativePath } from './normalize-key.js';

/**
 * Safe access to local directory trees: scanning a directory before an upload, and writing files
 * under a directory without following symbolic links. Everything is checked before anything is
 * written, and files are opened with O_NOFOLLOW so a link swapped in after the check is not followed.
 */

/** A regular file found by `scanLocalDirectory`. */
export interface LocalFile {
  /** `/`-separated path relative to the scanned directory. */
  relPath: string;
  absPath: string;
  size: number;
  /** Device and inode seen during the scan; `openLocalFile` insists on the same file. */
  dev: number;
  ino: number;
}

const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function unsafe(detail: string): CapstanError {
  return new CapstanError('CAPSTAN_ARTIFACT_UNSAFE_PATH', detail);
}

/** Wraps a file-system failure in a client-safe error that names the operation, not the path. */
export function fsFailure(operation: string, subject: string, err: unknown): CapstanError {
  if (isCapstanError(err)) return err;
  const code = errno(err) ?? 'unknown error';
  return new CapstanError('CAPSTAN_ARTIFACT_STORE_UNAVAILABLE', `could not ${operation} ${subject} (${code})`, { cause: err });
}

/**
 * Lists every regular file under `dir`, sorted. Refuses (CAPSTAN_ARTIFACT_UNSAFE_PATH) symbolic
 * links anywhere in the tree, sockets, FIFOs and devices, names that are not safe relative paths,
 * and anything whose real path lies outside `dir`. Nothing is read or written by the scan.
 */
export async function scanLocalDirectory(dir: string): Promise<LocalFile[]> {
  let root: string;
  try {
    root = await realpath(dir);
    if (!(await lstat(root)).isDirectory()) throw new CapstanError('CAPSTAN_ARTIFACT_KEY_INVALID', 'the directory to upload is not a directory');
  } catch (err) {
    if (isCapstanError(err)) throw err;
    throw new CapstanError('CAPSTAN_ARTIFACT_NOT_FOUND', 'the directory to upload does not exist', { cause: err });
  }
  const files: LocalFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(root, rel), { withFileTypes: true });
    for (const entry of entries) {
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      normalizeRelativePath(relPath, { what: 'directory entry', allowReserved: true });
      const absPath = path.join(root, relPath);
      const st = await lstat(absPath);
      if (st.isSymbolicLink()) throw unsafe(`directory entry ${JSON.stringify(relPath)} is a symbolic link`);
      if (st.isDirectory()) {
        await walk(relPath);
        continue;
      }
      if (!st.isFile()) throw unsafe(`directory entry ${JSON.stringify(relPath)} is not a regular file`);
      const real = await realpath(absPath);
      if (real !== absPath) throw unsafe(`directory entry ${JSON.stringify(relPath)} resolves outside the directory`);
      files.push({ relPath, absPath, size: st.size, dev: st.dev, ino: st.ino });
    }
  };
  await walk('');
  return files.sort((a, b) => compareKeys(a.relPath, b.relPath));
}

/** The ordering every listing uses: by UTF-8 bytes, as S3 lists keys. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Opens a file found by the scan for reading, refusing it if it was replaced since (by a link or another file). */
export async function openLocalFile(file: LocalFile): Promise<Readable> {
  let fh: FileHandle;
  try {
    fh = await open(file.absPath, fsConstants.O_RDONLY | O_NOFOLLOW);
  } catch (err) {
    if (errno(err) === 'ELOOP') throw unsafe(`directory entry ${JSON.stringify(file.relPath)} became a symbolic link`);
    throw fsFailure('read', `directory entry ${JSON.stringify(file.relPath)}`, err);
  }
  const st = await fh.stat();
  if (!st.isFile() || st.ino !== file.ino || st.dev !== file.dev) {
    await fh.close();
    throw unsafe(`directory entry ${JSON.stringify(file.relPath)} changed while it was uploaded`);
  }
  return fh.createReadStream();
}

/** What `walkUnder` found at the end of a path. */
export type PathState = { kind: 'missing' } | { kind: 'file' | 'directory' | 'other'; stats: Stats };

/**
 * Walks `segments` below `root` with lstat, refusing a symbolic link at any step
 * (`subject` names the path in the message). With `createDirs`, missing parent directories are
 * created one at a time, so a link planted in the tree is never followed. A regular file where a
 * directory is needed is refused as CAPSTAN_ARTIFACT_KEY_INVALID. Returns the state of the last segment.
 */
export async function walkUnder(root: string, segments: readonly string[], subject: string, createDirs = false): Promise<PathState> {
  let current = root;
  for (let i = 0; i < segments.length; i++) {
    current = path.join(current, segments[i]);
    const last = i === segments.length - 1;
    let st: Stats | undefined;
    try {
      st = await lstat(current);
    } catch (err) {
      if (errno(err) !== 'ENOENT' && errno(err) !== 'ENOTDIR') throw fsFailure('inspect', subject, err);
    }
    if (st?.isSymbolicLink()) throw unsafe(`${subject} passes through a symbolic link`);
    if (last) {
      if (!st) return { kind: 'missing' };
      return { kind: st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other', stats: st };
    }
    if (st && !st.isDirectory()) {
      const blocker = segments.slice(0, i + 1).join('/');
      throw new CapstanError('CAPSTAN_ARTIFACT_KEY_INVALID', `${subject} needs "${blocker}" to be a directory, but it is a file`);
    }
    if (!st) {
      if (!createDirs) return { kind: 'missing' };
      try {
        await mkdir(current);
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw fsFailure('create a directory for', subject, err);
        i--; // someone else created it: inspect it again, it might be a link
        current = path.dirname(current);
      }
    }
  }
  return { kind: 'directory', stats: await lstat(root) };
}

/** A planned local write: the relative path and where it lands. */
export interface LocalTarget {
  relPath: string;
  absPath: string;
}

/**
 * Checks that every relative path lands inside `dir` without passing through a symbolic link or a
 * file, before anything is written (CAPSTAN_ARTIFACT_UNSAFE_PATH otherwise). `what` names the paths
 * in messages (`artifact key`, `archive entry`).
 */
export async function planLocalTargets(dir: string, relPaths: readonly string[], what: string): Promise<LocalTarget[]> {
  const rels = relPaths.map((raw) => ({ raw, rel: normalizeRelativePath(raw, { what, allowReserved: true }) }));
  // Two entries such as `a` and `a/b` cannot both be files; find that before writing either.
  const files = new Set(rels.map((r) => r.rel));
  for (const { rel } of rels) {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (files.has(parent)) throw new CapstanError('CAPSTAN_ARTIFACT_KEY_INVALID', `${what} ${JSON.stringify(rel)} needs "${parent}" to be a directory, but it is also a file`);
    }
  }
  await mkdir(dir, { recursive: true });
  const root = await realpath(dir);
  const targets: LocalTarget[] = [];
  for (const { raw, rel } of rels) {
    const absPath = path.resolve(root, ...rel.split('/'));
    if (!absPath.startsWith(root + path.sep)) throw unsafe(`${what} ${JSON.stringify(raw)} would land outside the target directory`);
    const state = await walkUnder(root, rel.split('/'), `${what} ${JSON.stringify(raw)}`);
    if (state.kind === 'directory' || state.kind === 'other') {
      throw new CapstanError('CAPSTAN_ARTIFACT_KEY_INVALID', `${what} ${JSON.stringify(raw)} would replace a directory or special file`);
    }
    targets.push({ relPath: rel, absPath });
  }
  return targets;
}

/**
 * Writes a stream to `root/relPath` atomically: parents are created without following links, the
 * content goes to a temporary sibling, is fsynced and renamed into place.
 */
export async function writeLocalFile(root: string, relPath: string, body: Readable): Promise<void> {
  const segments = relPath.split('/');
  await walkUnder(root, segments, `path ${JSON.stringify(relPath)}`, true);
  const target = path.join(root, ...segments);
  const temp = path.join(path.dirname(target), `.capstan-tmp-${randomUUID()}`);
  const fh = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | O_NOFOLLOW, 0o644);
  try {
    // Written chunk by chunk rather than through a write stream: a FileHandle stream without
    // autoClose keeps the handle referenced and fh.close() would never settle.
    for await (const chunk of body) await fh.write(chunk as Buffer);
    await fh.sync();
    await fh.close();
    await rename(temp, target);
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(temp, { force: true });
    throw err;
  }
}
