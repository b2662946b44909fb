import type { BatchJob, BatchJobInput, BatchLogLine, BatchService } from '../batch/index.js';
import type { HttpClient } from './http-client.js';

/** Batch transform jobs over HTTP; the same interface as the embedded service. */
export class BatchClient implements BatchService {
  constructor(private readonly http: HttpClient) {}

  /** POST /api/v1/batch-jobs */
  create(input: BatchJobInput): Promise<BatchJob> {
    return this.http.request<BatchJob>('POST', '/api/v1/batch-jobs', { body: input });
  }

  /** GET /api/v1/batch-jobs/{id} */
  get(id: string): Promise<BatchJob> {
    return this.http.request<BatchJob>('GET', `/api/v1/batch-jobs/${encodeURIComponent(id)}`);
  }

  /** GET /api/v1/batch-jobs */
  async list(options: { limit?: number } = {}): Promise<BatchJob[]> {
    return (await this.http.request<{ items: BatchJob[] }>('GET', '/api/v1/batch-jobs', { query: { limit: options.limit } })).items;
  }

  /** GET /api/v1/batch-jobs/{id}/logs */
  async logs(id: string): Promise<BatchLogLine[]> {
    return (await this.http.request<{ items: BatchLogLine[] }>('GET', `/api/v1/batch-jobs/${encodeURIComponent(id)}/logs`)).items;
  }
}
