import type { ApiKeyAdmin, ApiKeyInfo, CreateKeyOptions, CreatedApiKey } from '../auth/index.js';
import type { HttpClient } from './http-client.js';

/** API key administration over HTTP (`/api/v1/keys`, admin role); same interface as the local store. */
export class KeysClient implements ApiKeyAdmin {
  constructor(private readonly http: HttpClient) {}

  /** Creates a key; the secret is in the result only. */
  create(name: string, role: string, options: CreateKeyOptions = {}): Promise<CreatedApiKey> {
    return this.http.request('POST', '/api/v1/keys', { body: { name, role, ...(options.sigv4 ? { sigv4: true } : {}) } });
  }

  /** Every key, newest first, without secrets. */
  async list(): Promise<ApiKeyInfo[]> {
    return (await this.http.request<{ items: ApiKeyInfo[] }>('GET', '/api/v1/keys')).items;
  }

  /** Revokes a key by id or name. */
  revoke(idOrName: string): Promise<ApiKeyInfo> {
    return this.http.request('DELETE', `/api/v1/keys/${encodeURIComponent(idOrName)}`);
  }
}
