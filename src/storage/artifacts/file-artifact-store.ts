import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CapstanError } from '../../core/errors.js';
import { makeDirectory } from '../../core/make-directory.js';
import type { ArtifactBody, ArtifactInfo, ArtifactStore } from './artifact-store.js';
import { bodyChunks, downloadToDirectory, sha256Of, uploadDirectoryToStore } from './directory-transfer.js';
import { compareKeys, fsFailure, walkUnder } from './local-tree.js';
import { directoryPrefix, isSafeKey, normalizeKey, normalizePrefix, keyInStore, uriInStore } from './normalize-key.js';

const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
const STAGING = '.staging';
const META = '.meta';
/**
 * Age past which a staging file is an upload that will never finish. A put in progress keeps writing,
 * so its file stays young; another process, maybe on another host, may share the directory, so a
 * young file whose writer cannot be checked is never removed.
 */
const STAGING_MAX_AGE_MS = 60 * 60 * 1000;

/**
 * This process as staging file names carry it (`<host>~<pid>~<token>~`), so opening the store knows
 * whose files are dead; the token tells an earlier process that had the same pid (a restarted
 * container) from this one.
 */
const STAGING_OWNER = `${hostname()}~${process.pid}~${randomUUID().slice(0, 8)}~`;
/**
 * The digest sidecar kept at `.meta/<key>` for every object. It names the inode, size and mtime it
 * was computed for; when the data file no longer matches (replaced by hand, or a crash between the
 * two renames of a put) the digest is recomputed from the data instead of trusted.
 */
interface Sidecar {
  sha256: string;
  size: number;
  ino: number;
  mtimeMs: number;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function subjectOf(key: string): string {
  return `artifact key ${JSON.stringify(key)}`;
}

function notFound(key: string): CapstanError {
  return new CapstanError('CAPSTAN_ARTIFACT_NOT_FOUND', `no artifact at key ${JSON.stringify(key)}`, { fields: { key } });
}

/** True when the staging file `name` was written by a process of this host that no longer runs. */
function writerGone(name: string): boolean {
  const m = /^([^~]+)~(\d+)~([^~]+)~/.exec(name);
  if (!m || m[1] !== hostname() || m[0] === STAGING_OWNER) return false;
  if (Number(m[2]) === process.pid) return true;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (err) {
    return errno(err) === 'ESRCH';
  }
}

/**
 * Removes staging files of killed uploads: at once when their writer was a process of this host that
 * is gone, otherwise (another host, or a name without owner) once last written before `before`.
 */
async function sweepStaging(dir: string, before: number): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const file = path.join(dir, name);
    try {
      if (writerGone(name) || (await lstat(file)).mtimeMs < before) await rm(file, { recursive: true, force: true });
    } catch {
      // removed meanwhile
    }
  }
}

/**
 * The `file://` artifact store: objects are files under `root` named by their key. A put writes to
 * `root/.staging/<uuid>`, fsyncs, then renames into place (publishing the digest sidecar first), so a
 * reader sees the old object or the new one, never part of one. Paths are walked with lstat and files
 * opened with O_NOFOLLOW: a symbolic link planted inside the root is refused, never followed.
 */
export class FileArtifactStore implements ArtifactStore {
  readonly rootUri: string;

  private constructor(private readonly root: string) {
    this.rootUri = `file://${root}`;
  }

  /** Opens (creating when missing) a store rooted at `dir`. */
  static async open(dir: string): Promise<FileArtifactStore> {
    try {
      makeDirectory(dir);
      const root = await realpath(dir);
      await mkdir(path.join(root, STAGING), { recursive: true });
      await mkdir(path.join(root, META), { recursive: true });
      await sweepStaging(path.join(root, STAGING), Date.now() - STAGING_MAX_AGE_MS);
      return new FileArtifactStore(root);
    } catch (err) {
      throw fsFailure('open', `the artifact directory ${dir}`, err);
    }
  }

  uriFor(key: string): string {
    return uriInStore(this.rootUri, key);
  }

  keyFor(uri: string): string {
    return keyInStore(this.rootUri, uri);
  }

  async put(key: string, body: ArtifactBody): Promise<ArtifactInfo> {
    const k = normalizeKey(key);
    await this.checkWritable(k);
    const stagingData = path.join(this.root, STAGING, STAGING_OWNER + randomUUID());
    const stagingMeta = `${stagingData}.meta`;
    let fh: FileHandle | undefined;
    try {
      fh = await open(stagingData, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | O_NOFOLLOW, 0o644);
      const hash = createHash('sha256');
      for await (const chunk of bodyChunks(body)) {
        hash.update(chunk);
        await fh.write(chunk);
      }
      await fh.sync();
      const st = await fh.stat();
      await fh.close();
      fh = undefined;
      const sidecar: Sidecar = { sha256: hash.digest('hex'), size: st.size, ino: st.ino, mtimeMs: st.mtimeMs };
      await writeSynced(stagingMeta, JSON.stringify(sidecar));
      await this.publish(k, stagingData, stagingMeta);
      return { key: k, size: st.size, sha256: sidecar.sha256, modifiedAt: new Date(st.mtimeMs).toISOString() };
    } catch (err) {
      await fh?.close().catch(() => {});
      await rm(stagingData, { force: true }).catch(() => {});
      await rm(stagingMeta, { force: true }).catch(() => {});
      if (err instanceof CapstanError || !errno(err)) throw err; // the caller's own stream error stays as it is
      throw fsFailure('write', subjectOf(k), err);
    }
  }

  /** Renames the sidecar, then the data, into place; retries when a concurrent delete pruned a parent. */
  private async publish(key: string, stagingData: string, stagingMeta: string): Promise<void> {
    const segments = key.split('/');
    for (let attempt = 0; ; attempt++) {
      try {
        await walkUnder(path.join(this.root, META), segments, subjectOf(key), true);
        await walkUnder(this.root, segments, subjectOf(key), true);
        await this.checkWritable(key);
        await rename(stagingMeta, path.join(this.root, META, ...segments));
        await rename(stagingData, path.join(this.root, ...segments));
        await syncDirectory(path.dirname(path.join(this.root, ...segments)));
        return;
      } catch (err) {
        if (errno(err) !== 'ENOENT' || attempt >= 3) throw err;
      }
    }
  }

  /** Refuses a key whose path crosses a link, a file in the way, or an existing directory. */
  async checkWritable(key: string): Promise<void> {
    const segments = normalizeKey(key).split('/');
    const state = await walkUnder(this.root, segments, subjectOf(key));
    if (state.kind === 'directory' || state.kind === 'other') {
      throw new CapstanError('CAPSTAN_ARTIFACT_KEY_INVALID', `${subjectOf(key)} names a directory of other artifacts`, { fields: { key } });
    }
  }

  /** Opens an object for reading without following links; undefined when it does not exist. */
  private async openObject(key: string): Promise<{ fh: FileHandle; stats: Stats } | undefined> {
    const segments = key.split('/');
    const state = await walkUnder(this.root, segments, subjectOf(key));
    if (state.kind !== 'file') return undefined;
    let fh: FileHandle;
    try {
      fh = await open(path.join(this.root, ...segments), fsConstants.O_RDONLY | O_NOFOLLOW);
    } catch (err) {
      if (errno(err) === 'ELOOP') throw new CapstanError('CAPSTAN_ARTIFACT_UNSAFE_PATH', `${subjectOf(key)} is a symbolic link`);
      if (errno(err) === 'ENOENT') return undefined;
      throw fsFailure('read', subjectOf(key), err);
    }
    const stats = await fh.stat();
    if (!stats.isFile()) {
      await fh.close();
      return undefined;
    }
    return { fh, stats };
  }

  async get(key: string): Promise<Buffer> {
    const k = normalizeKey(key);
    const opened = await this.openObject(k);
    if (!opened) throw notFound(k);
    try {
      return await opened.fh.readFile();
    } finally {
      await opened.fh.close();
    }
  }

  async stream(key: string): Promise<Readable> {
    const k = normalizeKey(key);
    const opened = await this.openObject(k);
    if (!opened) throw notFound(k);
    return opened.fh.createReadStream();
  }

  async stat(key: string): Promise<ArtifactInfo | undefined> {
    return this.info(normalizeKey(key));
  }

  private async info(key: string): Promise<ArtifactInfo | undefined> {
    const segments = key.split('/');
    const state = await walkUnder(this.root, segments, subjectOf(key));
    if (state.kind !== 'file') return undefined;
    const st = state.stats;
    const sidecar = await this.readSidecar(segments);
    const modifiedAt = new Date(st.mtimeMs).toISOString();
    if (sidecar && sidecar.ino === st.ino && sidecar.size === st.size && sidecar.mtimeMs === st.mtimeMs) {
      return { key, size: st.size, sha256: sidecar.sha256, modifiedAt };
    }
    // No trustworthy sidecar: compute the digest once from the data (without following links).
    const opened = await this.openObject(key);
    if (!opened) return undefined;
    const { sha256, size } = await sha256Of(opened.fh.createReadStream());
    return { key, size, sha256, modifiedAt: new Date(opened.stats.mtimeMs).toISOString() };
  }

  private async readSidecar(segments: string[]): Promise<Sidecar | undefined> {
    try {
      const state = await walkUnder(path.join(this.root, META), segments, 'digest sidecar');
      if (state.kind !== 'file') return undefined;
      const fh = await open(path.join(this.root, META, ...segments), fsConstants.O_RDONLY | O_NOFOLLOW);
      try {
        const parsed = JSON.parse(await fh.readFile('utf8')) as Sidecar;
        return typeof parsed.sha256 === 'string' ? parsed : undefined;
      } finally {
        await fh.close();
      }
    } catch {
      return undefined; // a broken sidecar only costs a recomputation
    }
  }

  /** Every entry below the directory part of `prefix` whose key starts with `prefix`, links and all. */
  private async walk(prefix: string): Promise<{ key: string; kind: 'file' | 'link' | 'other' }[]> {
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const dirSegments = dirPart === '' ? [] : dirPart.split('/');
    const state = await walkUnder(this.root, dirSegments, `artifact prefix ${JSON.stringify(prefix)}`);
    if (state.kind !== 'directory') return [];
    const found: { key: string; kind: 'file' | 'link' | 'other' }[] = [];
    const visit = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(path.join(this.root, ...(rel === '' ? [] : rel.split('/'))), { withFileTypes: true });
      } catch (err) {
        if (errno(err) === 'ENOENT') return; // deleted while listing
        throw fsFailure('list', `artifact prefix ${JSON.stringify(prefix)}`, err);
      }
      for (const entry of entries) {
        if (rel === '' && (entry.name === STAGING || entry.name === META)) continue;
        const key = rel === '' ? entry.name : `${rel}/${entry.name}`;
        if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue;
        if (entry.isDirectory()) await visit(key);
        else if (!key.startsWith(prefix)) continue;
        else if (entry.isFile()) found.push({ key, kind: 'file' });
        else found.push({ key, kind: entry.isSymbolicLink() ? 'link' : 'other' });
      }
    };
    await visit(dirPart);
    return found.sort((a, b) => compareKeys(a.key, b.key));
  }

  async list(prefix: string): Promise<ArtifactInfo[]> {
    const p = normalizePrefix(prefix);
    const infos: ArtifactInfo[] = [];
    for (const entry of await this.walk(p)) {
      if (entry.kind !== 'file' || !isSafeKey(entry.key)) continue;
      const info = await this.info(entry.key);
      if (info) infos.push(info);
    }
    return infos;
  }

  async delete(key: string): Promise<void> {
    const k = normalizeKey(key);
    const segments = k.split('/');
    const state = await walkUnder(this.root, segments, subjectOf(k));
    if (state.kind === 'missing' || state.kind === 'directory') return;
    try {
      await unlink(path.join(this.root, ...segments)).catch((err) => {
        if (errno(err) !== 'ENOENT') throw err;
      });
      await unlink(path.join(this.root, META, ...segments)).catch(() => {});
    } catch (err) {
      throw fsFailure('delete', subjectOf(k), err);
    }
    await this.prune(this.root, segments);
    await this.prune(path.join(this.root, META), segments);
  }

  /** Removes directories left empty by a delete, deepest first, stopping at the first non-empty one. */
  private async prune(base: string, segments: string[]): Promise<void> {
    for (let i = segments.length - 1; i > 0; i--) {
      try {
        await rmdir(path.join(base, ...segments.slice(0, i)));
      } catch {
        return;
      }
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    for (const o of objects) await this.delete(o.key);
    return objects.length;
  }

  async copy(fromKey: string, toKey: string): Promise<ArtifactInfo> {
    const from = normalizeKey(fromKey);
    const to = normalizeKey(toKey);
    await this.checkWritable(to);
    return this.put(to, await this.stream(from));
  }

  async uploadDirectory(localDir: string, prefix: string): Promise<ArtifactInfo[]> {
    return uploadDirectoryToStore(this, localDir, prefix);
  }

  async downloadDirectory(prefix: string, localDir: string): Promise<string[]> {
    const base = directoryPrefix(prefix);
    const entries = await this.walk(base);
    for (const e of entries) {
      if (e.kind === 'link') throw new CapstanError('CAPSTAN_ARTIFACT_UNSAFE_PATH', `${subjectOf(e.key)} is a symbolic link`);
      if (e.kind === 'other') throw new CapstanError('CAPSTAN_ARTIFACT_UNSAFE_PATH', `${subjectOf(e.key)} is not a regular file`);
    }
    // Names placed in the directory by hand (`a\\b`) are refused by the planning of the local paths.
    return downloadToDirectory(entries.map((e) => ({ key: e.key, relPath: e.key.slice(base.length) })), localDir, (key) => this.stream(key));
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }
}

async function writeSynced(file: string, text: string): Promise<void> {
  const fh = await open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | O_NOFOLLOW, 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes a rename durable; some platforms cannot fsync a directory, which is not an error there. */
async function syncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, fsConstants.O_RDONLY);
    await fh.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close().catch(() => {});
  }
}

