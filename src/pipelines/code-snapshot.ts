import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CapstanError } from '../core/errors.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { compareKeys } from '../storage/artifacts/local-tree.js';
import { fsReason } from '../core/file-errors.js';

const MAX_FILES = 2000;
const MAX_BYTES = 50 * 1024 * 1024;

/** A snapshot of a pipeline's code directory in the artifact store. */
export interface CodeSnapshot {
  /** Store prefix holding the files (content-addressed, so identical code is stored once). */
  prefix: string;
  /** `sha256:<hex>` over the files (path + content). */
  digest: string;
  files: number;
}

/** CAPSTAN_PIPELINE_CODE_INVALID for a code directory that cannot be read, naming it as the user wrote it. */
export function codeDirError(shown: string, cause: unknown): CapstanError {
  const why = (cause as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'is not a directory' : fsReason(cause);
  return new CapstanError('CAPSTAN_PIPELINE_CODE_INVALID', `code directory ${shown}: ${why}`, { cause, fields: { path: shown } });
}

/**
 * Names skipped anywhere in a code directory: VCS, dependency and cache folders. The one list for
 * every way code is applied (embedded and `--url`), so both hash the same files.
 */
export const CODE_SKIP: ReadonlySet<string> = new Set(['.git', 'node_modules', '__pycache__', '.capstan', '.venv', '.DS_Store']);

/** One file of a code directory. */
export interface CodeFile {
  /** Path relative to the directory, `/`-separated. */
  rel: string;
  abs: string;
  size: number;
}

/**
 * The files of a code directory in key order, skipping `CODE_SKIP`; a symbolic link, more than 2000
 * files or more than 50 MiB is CAPSTAN_PIPELINE_CODE_INVALID. `shown` names the directory in errors.
 */
export async function listCodeFiles(dir: string, shown = dir): Promise<CodeFile[]> {
  const files: CodeFile[] = [];
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    let entries: string[];
    try {
      entries = await readdir(path.join(dir, rel));
    } catch (err) {
      throw codeDirError(rel ? `${shown}/${rel}` : shown, err);
    }
    for (const name of entries) {
      if (CODE_SKIP.has(name)) continue;
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, r);
      const st = await lstat(abs);
      if (st.isSymbolicLink()) throw new CapstanError('CAPSTAN_PIPELINE_CODE_INVALID', `the code directory holds a symbolic link: ${r}`);
      if (st.isDirectory()) await walk(r);
      else if (st.isFile()) {
        if (files.length >= MAX_FILES) throw new CapstanError('CAPSTAN_PIPELINE_CODE_INVALID', `the code directory holds more than ${MAX_FILES} files`);
        bytes += st.size;
        if (bytes > MAX_BYTES) throw new CapstanError('CAPSTAN_PIPELINE_CODE_INVALID', `the code directory is larger than ${MAX_BYTES / 1024 / 1024} MiB`);
        files.push({ rel: r, abs, size: st.size });
      }
    }
  };
  await walk('');
  return files.sort((a, b) => compareKeys(a.rel, b.rel));
}

/**
 * Copies a code directory into the store under `pipelines/<name>/code/<digest>/`. Steps run in a
 * download of it, so a cron or artifact trigger days later runs exactly the applied code, and the
 * digest is the code part of every step's cache key. Symbolic links are refused; VCS and
 * dependency folders are skipped.
 */
export async function snapshotCode(store: ArtifactStore, pipeline: string, dir: string, shown = dir): Promise<CodeSnapshot> {
  const files = await listCodeFiles(dir, shown);
  const digest = await digestOf(files);
  const prefix = `pipelines/${pipeline}/code/${digest.slice(7, 23)}/`;
  const existing = await store.list(prefix);
  if (existing.length !== files.length) {
    for (const f of files) await store.put(prefix + f.rel, await readFile(f.abs));
  }
  return { prefix, digest, files: files.length };
}

async function digestOf(files: CodeFile[]): Promise<string> {
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${createHash('sha256').update(await readFile(f.abs)).digest('hex')}  ${f.rel}\n`);
  return `sha256:${hash.digest('hex')}`;
}

/** The digest `snapshotCode` would record for a directory, without storing anything (a plan compares it). */
export async function codeDirectoryDigest(dir: string, shown = dir): Promise<string> {
  return digestOf(await listCodeFiles(dir, shown));
}
