import type { Readable } from 'node:stream';

/** What the store knows about one stored object. */
export interface ArtifactInfo {
  /** Normalised key relative to the store root (`models/ncf/3/model.onnx`). */
  key: string;
  size: number;
  /** Hex sha256 of the content. */
  sha256: string;
  /** ISO time of the last write. */
  modifiedAt: string;
}

/** Content for `put`: bytes, text or a stream. */
export type ArtifactBody = Buffer | Uint8Array | string | Readable;

/**
 * The artifact store port (DESIGN §3). Keys are `/`-separated relative paths; every adapter
 * normalises them with `normalizeKey` and refuses anything that could escape the root.
 * Writes are atomic: content goes to a staging key and is published only when complete,
 * so a reader never sees a partial object.
 */
export interface ArtifactStore {
  /** The store's root URI (`file:///…/artifacts` or `s3://bucket/prefix`). */
  readonly rootUri: string;
  /** The URI of one key, as recorded in the registry. */
  uriFor(key: string): string;
  /** The key of a URI inside this store; throws CAPSTAN_ARTIFACT_UNSAFE_PATH for a URI outside it. */
  keyFor(uri: string): string;
  /** Writes an object atomically and returns its info (with sha256). */
  put(key: string, body: ArtifactBody): Promise<ArtifactInfo>;
  /** Reads a whole object; CAPSTAN_ARTIFACT_NOT_FOUND when missing. */
  get(key: string): Promise<Buffer>;
  /** Streams an object; CAPSTAN_ARTIFACT_NOT_FOUND when missing. */
  stream(key: string): Promise<Readable>;
  /** Info for an object, or undefined when missing. */
  stat(key: string): Promise<ArtifactInfo | undefined>;
  /**
   * Objects under a prefix (a key prefix, not necessarily a directory: `a` matches `a/x` and `ab`),
   * sorted by key. Objects whose stored name is not a safe key (written by another tool) are left out.
   */
  list(prefix: string): Promise<ArtifactInfo[]>;
  /** Deletes one object; no error when it is missing. */
  delete(key: string): Promise<void>;
  /** Deletes every object under a prefix; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** Copies an object to another key atomically. */
  copy(fromKey: string, toKey: string): Promise<ArtifactInfo>;
  /**
   * Uploads a local directory under a prefix read as a directory (`p` puts `p/<relative path>`). The
   * whole tree is checked first: a symlink, special file or unsafe name anywhere refuses the upload
   * before anything is written. Each object is atomic, the upload as a whole is not.
   */
  uploadDirectory(localDir: string, prefix: string): Promise<ArtifactInfo[]>;
  /**
   * Downloads every object under a prefix (read as a directory) into a local directory; returns the
   * written paths. Refuses, before writing anything, stored keys that would land outside the target
   * and targets holding a symlink on the way.
   */
  downloadDirectory(prefix: string, localDir: string): Promise<string[]>;
  /** Releases clients and handles. */
  close(): Promise<void>;
}
