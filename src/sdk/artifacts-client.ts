import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { assertLocalFile, writeFileAtomically, type ArtifactsService, type StoredArtifact } from '../storage/artifacts/artifacts-service.js';
import { normalizeKey } from '../storage/artifacts/normalize-key.js';
import { CapstanError } from '../core/errors.js';
import type { HttpClient } from './http-client.js';

/** `a/b c/d` → `a/b%20c/d`: each key segment encoded, the slashes kept. */
export function artifactKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** The artifact store through the server: `PUT`, `GET /api/v1/artifacts/{key}` and `GET /api/v1/artifacts?prefix=`. */
export class ArtifactsClient implements ArtifactsService {
  constructor(private readonly http: HttpClient) {}

  /** @inheritdoc */
  async upload(localPath: string, key: string): Promise<StoredArtifact> {
    assertLocalFile(localPath);
    const body = Readable.toWeb(createReadStream(localPath)) as unknown as ReadableStream<Uint8Array>;
    const res = await this.http.requestRaw('PUT', `/api/v1/artifacts/${artifactKeyPath(key)}`, body);
    return (await res.json()) as StoredArtifact;
  }

  /** @inheritdoc */
  async list(prefix: string): Promise<StoredArtifact[]> {
    return (await this.http.request<{ artifacts: StoredArtifact[] }>('GET', '/api/v1/artifacts', { query: { prefix } })).artifacts;
  }

  /** Opens one object as a stream (the registry's package pulls verify digests on top of it). */
  async open(key: string): Promise<Readable> {
    const res = await this.http.requestRaw('GET', `/api/v1/artifacts/${artifactKeyPath(key)}`);
    return Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
  }

  /** @inheritdoc */
  async download(key: string, localPath: string): Promise<StoredArtifact> {
    const normalized = normalizeKey(key);
    // The GET answers CAPSTAN_ARTIFACT_NOT_FOUND for a missing key before anything is written locally.
    await writeFileAtomically(localPath, await this.open(normalized));
    const info = (await this.list(normalized)).find((a) => a.key === normalized);
    if (!info) throw new CapstanError('CAPSTAN_ARTIFACT_NOT_FOUND', `no artifact ${normalized}`, { fields: { key: normalized } });
    return info;
  }
}
