import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { assertLocalFile, writeFileAtomically, type ArtifactsService, type StoredArtifact } from '../storage/artifacts/artifacts-service.js';
import { normalizeKey } from '../storage/artifacts/normalize-key.js';
import type { HttpClient } from './http-client.js';

/**
 * `a/b c/d` → `a/b%20c/d`: each key segment encoded, the slashes kept. A `.` or `..` segment is
 * encoded twice (`%252E%252E`): URL parsing resolves `..` and `%2E%2E` alike, so only this form
 * reaches the server, which decodes it and refuses it as the `..` it is.
 */
export function artifactKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) => (segment === '.' || segment === '..' ? segment.replace(/\./g, '%252E') : encodeURIComponent(segment)))
    .join('/');
}

/** The `x-capstan-uri` header back as the URI: the server percent-encodes it (`encodeURI`) so any key fits a header. */
export function decodeUriHeader(value: string): string {
  try {
    return decodeURI(value);
  } catch {
    return value;
  }
}

/** The artifact store through the server: `PUT`, `GET /api/v1/artifacts/{key}` and `GET /api/v1/artifacts?prefix=`. */
export class ArtifactsClient implements ArtifactsService {
  constructor(private readonly http: HttpClient) {}

  /** @inheritdoc */
  async upload(localPath: string, key: string): Promise<StoredArtifact> {
    // Checked here as well as on the server, so an unsafe key is refused before any byte is sent.
    const safeKey = normalizeKey(key);
    assertLocalFile(localPath);
    const body = Readable.toWeb(createReadStream(localPath)) as unknown as ReadableStream<Uint8Array>;
    const res = await this.http.requestRaw('PUT', `/api/v1/artifacts/${artifactKeyPath(safeKey)}`, body);
    return (await res.json()) as StoredArtifact;
  }

  /** @inheritdoc */
  async list(prefix: string): Promise<StoredArtifact[]> {
    return (await this.http.request<{ artifacts: StoredArtifact[] }>('GET', '/api/v1/artifacts', { query: { prefix } })).artifacts;
  }

  private async get(key: string): Promise<{ body: Readable; info: StoredArtifact }> {
    const res = await this.http.requestRaw('GET', `/api/v1/artifacts/${artifactKeyPath(key)}`);
    const h = (name: string) => res.headers.get(name) ?? '';
    return {
      body: Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>),
      info: { key, size: Number(h('content-length')), sha256: h('x-capstan-sha256'), modifiedAt: h('x-capstan-modified-at'), uri: decodeUriHeader(h('x-capstan-uri')) },
    };
  }

  /** Opens one object as a stream (the registry's package pulls verify digests on top of it). */
  async open(key: string): Promise<Readable> {
    return (await this.get(normalizeKey(key))).body;
  }

  /** @inheritdoc */
  async download(key: string, localPath: string): Promise<StoredArtifact> {
    // The GET answers CAPSTAN_ARTIFACT_NOT_FOUND for a missing key before anything is written locally;
    // its headers carry the object's info, so no second request is needed.
    const { body, info } = await this.get(normalizeKey(key));
    await writeFileAtomically(localPath, body);
    return info;
  }
}
