import { mkdir, realpath, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import * as tar from 'tar';
import { CapstanError } from '../../core/errors.js';
import { planLocalTargets, scanLocalDirectory, walkUnder } from './local-tree.js';
import { normalizeRelativePath } from './normalize-key.js';

/** Entry types that only ever create plain files and directories. */
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

function describeType(type: string): string {
  switch (type) {
    case 'SymbolicLink':
      return 'is a symbolic link';
    case 'Link':
      return 'is a hard link';
    case 'CharacterDevice':
    case 'BlockDevice':
      return 'is a device file';
    case 'FIFO':
      return 'is a FIFO';
    default:
      return `has the unsupported type ${type}`;
  }
}

/** The checked, normalised path of an entry; throws CAPSTAN_ARTIFACT_UNSAFE_PATH when it is unsafe. */
function checkEntry(entryPath: string, type: string): { rel: string; isDir: boolean } {
  const what = 'archive entry';
  const rel = normalizeRelativePath(entryPath, { what, allowEmpty: true, allowTrailingSlash: true, allowReserved: true });
  const isDir = type === 'Directory';
  if (!isDir && !FILE_TYPES.has(type)) {
    throw new CapstanError('CAPSTAN_ARTIFACT_UNSAFE_PATH', `${what} ${JSON.stringify(entryPath)} ${describeType(type)}`, { fields: { reason: describeType(type) } });
  }
  if (!isDir && (rel === '' || rel.endsWith('/'))) {
    throw new CapstanError('CAPSTAN_ARTIFACT_UNSAFE_PATH', `${what} ${JSON.stringify(entryPath)} is a file without a name`);
  }
  return { rel: rel.replace(/\/$/, ''), isDir };
}

/** What a safe extraction wrote. */
export interface ExtractResult {
  /** Relative paths of the files written, in archive order. */
  files: string[];
  /** Total bytes of file content. */
  bytes: number;
}

/**
 * Extracts a tar (optionally gzipped) into `targetDir` (created when missing) — only after the whole
 * archive has been read and every entry found safe. Refused with CAPSTAN_ARTIFACT_UNSAFE_PATH, with
 * nothing written: absolute entries, `..` escapes (also percent-encoded), backslashes, NUL bytes,
 * symbolic and hard links, devices and FIFOs, and entries that would pass through a link already in
 * the target. Extracted modes lose setuid/setgid and group/other write bits; owners are not restored.
 */
export async function extractTarSafely(tarPath: string, targetDir: string): Promise<ExtractResult> {
  const files: string[] = [];
  const dirs: string[] = [];
  let bytes = 0;
  let refusal: unknown;
  try {
    await tar.list({
      file: tarPath,
      strict: true,
      onReadEntry: (entry) => {
        if (refusal) return;
        try {
          const { rel, isDir } = checkEntry(entry.path, entry.type);
          if (isDir) dirs.push(rel);
          else {
            files.push(rel);
            bytes += entry.size ?? 0;
          }
        } catch (err) {
          refusal = err; // thrown after the parser finishes: a throw inside its callback would escape it
        }
      },
    });
  } catch (err) {
    throw new CapstanError('CAPSTAN_ARTIFACT_KEY_INVALID', 'the archive is not a readable tar file', { cause: err });
  }
  if (refusal) throw refusal;

  await planLocalTargets(targetDir, files, 'archive entry');
  const root = await realpath(targetDir);
  for (const dir of dirs) {
    if (dir === '') continue;
    const state = await walkUnder(root, dir.split('/'), `archive entry ${JSON.stringify(dir)}`);
    if (state.kind === 'file' || state.kind === 'other') {
      throw new CapstanError('CAPSTAN_ARTIFACT_KEY_INVALID', `archive entry ${JSON.stringify(dir)} is a directory, but a file of that name exists`);
    }
  }

  // The archive is read a second time; the filter re-checks every entry in case the file changed.
  let changed: unknown;
  await tar.extract({
    file: tarPath,
    cwd: root,
    strict: true,
    preserveOwner: false,
    filter: (entryPath, entry) => {
      const type = 'type' in entry ? entry.type : 'File';
      try {
        checkEntry(entryPath, type);
      } catch (err) {
        changed ??= err;
        return false;
      }
      if ('mode' in entry && typeof entry.mode === 'number') {
        entry.mode = type === 'Directory' ? 0o755 : (entry.mode & 0o111 ? 0o755 : 0o644);
      }
      return true;
    },
  });
  if (changed) throw changed;
  return { files, bytes };
}

/**
 * Packs every regular file under `dir` into a tar at `tarPath` (gzipped when it ends in `.tgz` or
 * `.gz`), in sorted order with portable headers, so the same tree packs to the same entries. Refuses
 * trees holding symbolic links or special files. The archive is written to a temporary file and
 * renamed, so `tarPath` never holds a partial archive.
 */
export async function createTar(dir: string, tarPath: string): Promise<ExtractResult> {
  const scanned = await scanLocalDirectory(dir);
  const root = await realpath(dir);
  const target = path.resolve(tarPath);
  await mkdir(path.dirname(target), { recursive: true });
  const temp = `${target}.tmp-${randomUUID()}`;
  try {
    await tar.create(
      { file: temp, cwd: root, portable: true, gzip: /\.(tgz|gz)$/.test(target), follow: false, noDirRecurse: true },
      scanned.map((f) => f.relPath),
    );
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const bytes = scanned.reduce((n, f) => n + f.size, 0);
  return { files: scanned.map((f) => f.relPath), bytes };
}
