import path from 'node:path';
import { newId } from '../core/ids.js';
import { inspectLocalPackage, isFile, metricPoints, pullVerifiedVersion } from '../registry/index.js';
import type {
  ActionContext,
  ApprovalInput,
  ApprovalPolicy,
  ArtifactFile,
  AuditEvent,
  AuditLogFilter,
  AuditPage,
  Comparison,
  CompareRunsInput,
  CompareVersionsInput,
  CreateExperimentInput,
  CreateRunInput,
  CreateWebhookInput,
  CreatedWebhook,
  Experiment,
  HistoryFilter,
  MetricPoint,
  MetricSeriesInput,
  ModelGroup,
  ModelGroupInput,
  ModelVersion,
  PullResult,
  RegisterVersionInput,
  RegistryService,
  Run,
  RunFilter,
  RunMetricSeries,
  RunPage,
  RunSearch,
  UpdateRunInput,
  VersionFilter,
  Webhook,
} from '../registry/index.js';
import { scanLocalDirectory } from '../storage/artifacts/local-tree.js';
import type { StoredArtifact } from '../storage/artifacts/artifacts-service.js';
import { ArtifactsClient } from './artifacts-client.js';
import type { HttpClient } from './http-client.js';

const seg = encodeURIComponent;

/**
 * The registry over HTTP, implementing the same `RegistryService` as the local one. Methods that take
 * local paths work here too: packages and run artifacts are uploaded through `PUT /api/v1/artifacts/…`
 * first, and pulls download through `GET /api/v1/artifacts/…` and verify the digest locally. The
 * server decides the actor from the API key, so `ActionContext` is ignored.
 */
export class RegistryClient implements RegistryService {
  private readonly artifacts: ArtifactsClient;

  constructor(private readonly http: HttpClient) {
    this.artifacts = new ArtifactsClient(http);
  }

  private model(name: string): string {
    return `/api/v1/models/${seg(name)}`;
  }

  /** Uploads one local file to a store key and returns its info with the store URI. */
  private upload(localPath: string, key: string): Promise<StoredArtifact> {
    return this.artifacts.upload(localPath, key);
  }

  /** Uploads every file of a local directory under `prefix` (ending in `/`). */
  private async uploadDirectory(dir: string, prefix: string): Promise<{ relPath: string; key: string; uri: string; size: number; sha256: string }[]> {
    const out = [];
    for (const f of await scanLocalDirectory(dir)) out.push({ relPath: f.relPath, ...(await this.upload(f.absPath, prefix + f.relPath)) });
    return out;
  }

  /** @inheritdoc */
  createExperiment(input: CreateExperimentInput): Promise<Experiment> {
    return this.http.request('POST', '/api/v1/experiments', { body: input });
  }
  /** @inheritdoc */
  listExperiments(): Promise<Experiment[]> {
    return this.http.request('GET', '/api/v1/experiments');
  }
  /** @inheritdoc */
  getExperiment(name: string): Promise<Experiment> {
    return this.http.request('GET', `/api/v1/experiments/${seg(name)}`);
  }
  /** @inheritdoc */
  createRun(input: CreateRunInput, _ctx?: ActionContext): Promise<Run> {
    return this.http.request('POST', '/api/v1/runs', { body: input });
  }
  /** @inheritdoc */
  getRun(id: string): Promise<Run> {
    return this.http.request('GET', `/api/v1/runs/${seg(id)}`);
  }
  /** @inheritdoc */
  listRuns(filter: RunFilter = {}): Promise<Run[]> {
    return this.http.request('GET', '/api/v1/runs', { query: { ...filter } });
  }
  /** @inheritdoc */
  searchRuns(search: RunSearch = {}): Promise<RunPage> {
    return this.http.request('GET', '/api/v1/runs/search', { query: { ...search, ids: search.ids?.join(',') } });
  }
  /** @inheritdoc */
  metricSeries(input: MetricSeriesInput): Promise<RunMetricSeries[]> {
    return this.http.request('GET', '/api/v1/runs/metric-series', { query: { runs: input.runs.join(','), key: input.key, points: input.points } });
  }
  /** @inheritdoc */
  updateRun(id: string, input: UpdateRunInput): Promise<Run> {
    return this.http.request('PATCH', `/api/v1/runs/${seg(id)}`, { body: input });
  }
  /** @inheritdoc */
  async logMetrics(runId: string, points: MetricPoint[]): Promise<{ count: number }> {
    // JSON has no NaN or Infinity (they serialise as null, which the server's schema coerces to 0):
    // checked here with the embedded registry's rules so a bad point is refused, not stored as 0.
    metricPoints(points, Date.now());
    return this.http.request('POST', `/api/v1/runs/${seg(runId)}/metrics`, { body: { metrics: points } });
  }
  /** @inheritdoc */
  metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    return this.http.request('GET', `/api/v1/runs/${seg(runId)}/metrics/${seg(key)}`);
  }
  /** @inheritdoc */
  logParams(runId: string, params: Record<string, string | number | boolean>): Promise<Run> {
    return this.http.request('POST', `/api/v1/runs/${seg(runId)}/params`, { body: { params } });
  }
  /** @inheritdoc */
  setRunTags(runId: string, tags: Record<string, string>): Promise<Run> {
    return this.http.request('POST', `/api/v1/runs/${seg(runId)}/tags`, { body: { tags } });
  }
  /** @inheritdoc */
  async uploadRunArtifacts(runId: string, localPath: string, subPath = ''): Promise<ArtifactFile[]> {
    await this.getRun(runId);
    const base = `runs/${runId}/artifacts/`;
    const sub = subPath ? `${subPath.replace(/^\/+|\/+$/g, '')}/` : '';
    if (await isFile(localPath)) {
      const info = await this.upload(localPath, base + sub + path.basename(localPath));
      return [{ path: info.key.slice(base.length), key: info.key, size: info.size, sha256: info.sha256 }];
    }
    return (await this.uploadDirectory(localPath, base + sub)).map((i) => ({ path: i.key.slice(base.length), key: i.key, size: i.size, sha256: i.sha256 }));
  }
  /** @inheritdoc */
  listRunArtifacts(runId: string): Promise<ArtifactFile[]> {
    return this.http.request('GET', `/api/v1/runs/${seg(runId)}/artifacts`);
  }
  /** @inheritdoc */
  compareRuns(input: CompareRunsInput): Promise<Comparison> {
    return this.http.request('GET', '/api/v1/runs/compare', { query: { runs: input.runs.join(','), metrics: input.metrics?.join(','), params: input.params?.join(',') } });
  }

  /** @inheritdoc */
  createModel(name: string, input: ModelGroupInput = {}): Promise<ModelGroup> {
    return this.http.request('POST', '/api/v1/models', { body: { name, ...input } });
  }
  /** @inheritdoc */
  listModels(): Promise<ModelGroup[]> {
    return this.http.request('GET', '/api/v1/models');
  }
  /** @inheritdoc */
  getModel(name: string): Promise<ModelGroup> {
    return this.http.request('GET', this.model(name));
  }
  /** @inheritdoc */
  updateModel(name: string, input: ModelGroupInput): Promise<ModelGroup> {
    return this.http.request('PATCH', this.model(name), { body: input });
  }
  /** @inheritdoc */
  setApprovalPolicy(name: string, policy: ApprovalPolicy | null, _ctx?: ActionContext): Promise<ModelGroup> {
    return this.http.request('PUT', `${this.model(name)}/approval-policy`, { body: policy === null ? 'null' : policy });
  }

  /** @inheritdoc */
  async registerVersion(name: string, input: RegisterVersionInput, _ctx?: ActionContext): Promise<ModelVersion> {
    const { packageDir, ...rest } = input;
    let artifactUri = input.artifactUri;
    if (packageDir !== undefined) {
      // Same checks as the server, before any byte is sent; the server checks again after the upload.
      await inspectLocalPackage(packageDir);
      const uploaded = await this.uploadDirectory(packageDir, `uploads/${newId('upl')}/`);
      const first = uploaded[0];
      artifactUri = first.uri.slice(0, first.uri.length - first.relPath.length - 1);
    }
    return this.http.request('POST', `${this.model(name)}/versions`, { body: { ...rest, artifactUri } });
  }
  /** @inheritdoc */
  listVersions(name: string, filter: VersionFilter = {}): Promise<ModelVersion[]> {
    return this.http.request('GET', `${this.model(name)}/versions`, { query: { approval: filter.approval } });
  }
  /** @inheritdoc */
  getVersion(name: string, version: number): Promise<ModelVersion> {
    return this.http.request('GET', `${this.model(name)}/versions/${seg(String(version))}`);
  }
  /** @inheritdoc */
  listVersionFiles(name: string, version: number): Promise<ArtifactFile[]> {
    return this.http.request('GET', `${this.model(name)}/versions/${seg(String(version))}/files`);
  }
  /** @inheritdoc */
  resolve(ref: string): Promise<ModelVersion> {
    return this.http.request('GET', '/api/v1/model-refs', { query: { ref } });
  }
  /** @inheritdoc */
  setApproval(name: string, version: number, input: ApprovalInput, _ctx?: ActionContext): Promise<ModelVersion> {
    return this.http.request('PUT', `${this.model(name)}/versions/${seg(String(version))}/approval`, { body: input });
  }
  /** @inheritdoc */
  setAlias(name: string, alias: string, version: number, _ctx?: ActionContext): Promise<ModelGroup> {
    return this.http.request('PUT', `${this.model(name)}/aliases/${seg(alias)}`, { body: { version } });
  }
  /** @inheritdoc */
  deleteAlias(name: string, alias: string, _ctx?: ActionContext): Promise<ModelGroup> {
    return this.http.request('DELETE', `${this.model(name)}/aliases/${seg(alias)}`);
  }
  /** @inheritdoc */
  history(name: string, filter: HistoryFilter = {}): Promise<AuditEvent[]> {
    return this.http.request('GET', `${this.model(name)}/history`, { query: { version: filter.version } });
  }
  /** @inheritdoc */
  auditLog(filter: AuditLogFilter = {}): Promise<AuditPage> {
    return this.http.request('GET', '/api/v1/audit', { query: { ...filter } });
  }
  /** @inheritdoc */
  compareVersions(name: string, input: CompareVersionsInput = {}): Promise<Comparison> {
    return this.http.request('GET', `${this.model(name)}/compare`, {
      query: { versions: input.versions?.join(','), metrics: input.metrics?.join(','), params: input.params?.join(',') },
    });
  }
  /** @inheritdoc */
  pullVersion(ref: string, directory: string): Promise<PullResult> {
    return pullVerifiedVersion(this, ref, directory, (key) => this.artifacts.open(key));
  }

  /** @inheritdoc */
  createWebhook(input: CreateWebhookInput, _ctx?: ActionContext): Promise<CreatedWebhook> {
    return this.http.request('POST', '/api/v1/webhooks', { body: input });
  }
  /** @inheritdoc */
  listWebhooks(): Promise<Webhook[]> {
    return this.http.request('GET', '/api/v1/webhooks');
  }
  /** @inheritdoc */
  async deleteWebhook(id: string): Promise<void> {
    await this.http.request('DELETE', `/api/v1/webhooks/${seg(id)}`);
  }
}
