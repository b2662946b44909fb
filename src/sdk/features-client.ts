import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type {
  ApplyResult,
  FeatureDefinitionsInput,
  FeatureEntity,
  FeatureGroup,
  FeatureService,
  GroupFreshness,
  IngestResult,
  IngestSource,
  MaterializeResult,
  OnlineReadRequest,
  OnlineReadResult,
  TrainingSetRequest,
  TrainingSetResult,
} from '../features/index.js';
import { ArtifactsClient } from './artifacts-client.js';
import type { HttpClient } from './http-client.js';

const versionQuery = (version?: number) => (version === undefined ? '' : `?version=${version}`);

/** The feature store over HTTP; same interface as the embedded service. Local files are uploaded to the artifact store first. */
export class FeaturesClient implements FeatureService {
  constructor(private readonly http: HttpClient) {}

  /** A stored-file reference for `source`: a local path is uploaded under `uploads/features/`. */
  private async stored(source: IngestSource): Promise<IngestSource> {
    if (source.path === undefined) return source;
    const info = await new ArtifactsClient(this.http).upload(source.path, `uploads/features/${randomUUID()}/${path.basename(source.path)}`);
    return { key: info.key, ...(source.format ? { format: source.format } : {}) };
  }

  /** Applies a definitions document. */
  apply(definitions: FeatureDefinitionsInput): Promise<ApplyResult> {
    return this.http.request('POST', '/api/v1/features/apply', { body: definitions });
  }

  /** Every entity. */
  async listEntities(): Promise<FeatureEntity[]> {
    return (await this.http.request<{ items: FeatureEntity[] }>('GET', '/api/v1/entities')).items;
  }

  /** Every feature group version. */
  async listGroups(): Promise<FeatureGroup[]> {
    return (await this.http.request<{ items: FeatureGroup[] }>('GET', '/api/v1/feature-groups')).items;
  }

  /** Every materialized group version with the age of its newest online value. */
  async freshness(): Promise<GroupFreshness[]> {
    return (await this.http.request<{ items: GroupFreshness[] }>('GET', '/api/v1/features/freshness')).items;
  }

  /** One group version. */
  getGroup(name: string, version?: number): Promise<FeatureGroup> {
    return this.http.request('GET', `/api/v1/feature-groups/${encodeURIComponent(name)}${versionQuery(version)}`);
  }

  /** Ingests a file (uploaded first when local). */
  async ingest(group: string, source: IngestSource, options: { version?: number } = {}): Promise<IngestResult> {
    return this.http.request('POST', `/api/v1/feature-groups/${encodeURIComponent(group)}/ingest${versionQuery(options.version)}`, { body: await this.stored(source) });
  }

  /** Pushes records. */
  pushRecords(group: string, records: unknown[], options: { version?: number } = {}): Promise<IngestResult> {
    return this.http.request('POST', `/api/v1/feature-groups/${encodeURIComponent(group)}/records${versionQuery(options.version)}`, { body: records });
  }

  /** Builds a training set (a local entity table is uploaded first). */
  async trainingSet(request: TrainingSetRequest): Promise<TrainingSetResult> {
    return this.http.request('POST', '/api/v1/training-sets', { body: { ...request, entities: await this.stored(request.entities) } });
  }

  /** Materializes a group version. */
  materialize(group: string, options: { version?: number } = {}): Promise<MaterializeResult> {
    return this.http.request('POST', `/api/v1/feature-groups/${encodeURIComponent(group)}/materialize${versionQuery(options.version)}`);
  }

  /** One online read. */
  readOnline(request: OnlineReadRequest): Promise<OnlineReadResult> {
    return this.http.request('POST', '/api/v1/features/online', { body: request });
  }
}
