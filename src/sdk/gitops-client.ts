import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { AddRepositoryInput, ApplyInput, ApplyReport, CreatedRepository, GitopsService, PushResult, Repository, RepositoryDescription, ResourceView, SyncRecord } from '../gitops/index.js';
import { readCodeFiles } from '../pipelines/index.js';
import type { HttpClient } from './http-client.js';

const enc = encodeURIComponent;

/** The code directories the Pipeline documents of a file name, read for upload: `<file>#<code>` → files. */
async function codeOf(file: ApplyInput['files'][number]): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  if (!file.baseDir) return out;
  let docs;
  try {
    docs = parseAllDocuments(file.text);
  } catch {
    return out; // the server reports syntax errors with their lines
  }
  for (const doc of Array.isArray(docs) ? docs : []) {
    if (doc.errors.length) continue;
    const raw = doc.toJS() as { kind?: unknown; code?: unknown } | null;
    if (!raw || raw.kind !== 'Pipeline' || typeof raw.code !== 'string') continue;
    const key = `${file.path}#${raw.code}`;
    if (!out[key]) out[key] = await readCodeFiles(path.resolve(file.baseDir, raw.code), raw.code);
  }
  return out;
}

/** The gitops service over HTTP: files and the code directories their pipelines name are uploaded, never read by the server from its own disk. */
export class GitopsClient implements GitopsService {
  constructor(private readonly http: HttpClient) {}

  async apply(input: ApplyInput): Promise<ApplyReport> {
    const code: Record<string, Record<string, string>> = {};
    for (const f of input.files) Object.assign(code, await codeOf(f));
    const body = { files: input.files.map((f) => ({ path: f.path, text: f.text })), code, dryRun: input.dryRun, prune: input.prune, set: input.set };
    return this.http.request('POST', '/api/v1/apply', { body });
  }

  async get(kind: string, name?: string): Promise<ResourceView[]> {
    if (name) return [await this.http.request<ResourceView>('GET', `/api/v1/resources/${enc(kind)}/${enc(name)}`)];
    return (await this.http.request<{ resources: ResourceView[] }>('GET', `/api/v1/resources/${enc(kind)}`)).resources;
  }

  async delete(kind: string, name: string): Promise<void> {
    await this.http.request('DELETE', `/api/v1/resources/${enc(kind)}/${enc(name)}`);
  }

  addRepository(input: AddRepositoryInput): Promise<CreatedRepository> {
    return this.http.request('POST', '/api/v1/repositories', { body: input });
  }

  async listRepositories(): Promise<Repository[]> {
    return (await this.http.request<{ repositories: Repository[] }>('GET', '/api/v1/repositories')).repositories;
  }

  describeRepository(name: string): Promise<RepositoryDescription> {
    return this.http.request('GET', `/api/v1/repositories/${enc(name)}`);
  }

  async removeRepository(name: string): Promise<void> {
    await this.http.request('DELETE', `/api/v1/repositories/${enc(name)}`);
  }

  syncRepository(name: string): Promise<SyncRecord> {
    return this.http.request('POST', `/api/v1/repositories/${enc(name)}/sync`);
  }

  async receivePush(name: string, headers: Record<string, string | string[] | undefined>, body: Buffer): Promise<PushResult> {
    const flat: Record<string, string> = { 'content-type': 'application/json' };
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v[0] : v;
    const res = await this.http.requestRaw('POST', `/api/v1/repositories/${enc(name)}/webhook`, body, flat);
    return (await res.json()) as PushResult;
  }
}
