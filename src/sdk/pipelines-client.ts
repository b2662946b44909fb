import path from 'node:path';
import { sleep } from '../core/clock.js';
import { isCapstanError } from '../core/errors.js';
import { parseUserYaml } from '../core/user-yaml.js';
import type { ExecutionRecord, LogLine, PipelineRecord } from '../pipelines/index.js';
import { readCodeFiles, type DefinitionInput, type PipelinesApi } from '../pipelines/index.js';
import type { HttpClient } from './http-client.js';

const enc = encodeURIComponent;

/** The pipelines API over HTTP; the same interface the CLI uses on the embedded platform. */
export class PipelinesClient implements PipelinesApi {
  constructor(private readonly http: HttpClient) {}

  private async body(i: DefinitionInput): Promise<{ yaml: string; file: string; files?: Record<string, string> }> {
    let code: unknown;
    try {
      code = (parseUserYaml(i.yaml, i.file) as { code?: unknown } | null)?.code;
    } catch (err) {
      // Syntax errors are the server's to report with line numbers; a limit breach stops here, before the upload.
      if (isCapstanError(err, 'CAPSTAN_REQUEST_YAML_LIMIT')) throw err;
      code = undefined;
    }
    // The server never reads its own disk for code: the files travel with the definition.
    const files = typeof code === 'string' ? await readCodeFiles(path.resolve(i.baseDir, code), code) : undefined;
    return { yaml: i.yaml, file: i.file, files };
  }

  async validate(i: DefinitionInput) {
    return (await this.http.request<{ pipeline: any }>('POST', '/api/v1/pipelines/validate', { body: { yaml: i.yaml, file: i.file } })).pipeline;
  }

  async apply(i: DefinitionInput) {
    return this.http.request<any>('PUT', '/api/v1/pipelines', { body: await this.body(i) });
  }

  async list() {
    return (await this.http.request<{ pipelines: PipelineRecord[] }>('GET', '/api/v1/pipelines')).pipelines;
  }

  describe(name: string) {
    return this.http.request<any>('GET', `/api/v1/pipelines/${enc(name)}`);
  }

  start(name: string, params: Record<string, unknown>) {
    return this.http.request<ExecutionRecord>('POST', `/api/v1/pipelines/${enc(name)}/executions`, { body: { params } });
  }

  async wait(id: string) {
    for (;;) {
      const e = await this.execution(id);
      if (e.state !== 'queued' && e.state !== 'running') return e;
      await sleep(500);
    }
  }

  execution(id: string) {
    return this.http.request<ExecutionRecord>('GET', `/api/v1/pipeline-executions/${enc(id)}`);
  }

  async executions(f: { pipeline?: string; limit?: number }) {
    return (await this.http.request<{ executions: ExecutionRecord[] }>('GET', '/api/v1/pipeline-executions', { query: { pipeline: f.pipeline, limit: f.limit } })).executions;
  }

  async cancel(id: string) {
    const e = await this.execution(id);
    return this.http.request<ExecutionRecord>('POST', `/api/v1/pipelines/${enc(e.pipeline)}/executions/${enc(id)}/cancel`);
  }

  async logs(id: string, step?: string) {
    const e = await this.execution(id);
    return (await this.http.request<{ lines: LogLine[] }>('GET', `/api/v1/pipelines/${enc(e.pipeline)}/executions/${enc(id)}/logs`, { query: { step } })).lines;
  }

  async search(s: { pattern: string; regex?: boolean; pipeline?: string; step?: string; since?: number; until?: number; limit?: number }) {
    const iso = (t?: number) => (t === undefined ? undefined : new Date(t).toISOString());
    return (
      await this.http.request<{ lines: LogLine[] }>('GET', '/api/v1/pipeline-logs', {
        query: { q: s.pattern, regex: s.regex, pipeline: s.pipeline, step: s.step, since: iso(s.since), until: iso(s.until), limit: s.limit },
      })
    ).lines;
  }
}
