import type { Job } from '../storage/queue/job.js';
import type { JobListFilter, JobPage, JobStats, JobsService } from '../storage/queue/jobs-service.js';
import type { HttpClient } from './http-client.js';

/** The jobs API over HTTP; the same interface as the embedded `JobQueue`. */
export class JobsClient implements JobsService {
  constructor(private readonly http: HttpClient) {}

  /** GET /api/v1/jobs */
  list(filter: JobListFilter = {}): Promise<JobPage> {
    const { state, queue, type, limit, cursor } = filter;
    return this.http.request<JobPage>('GET', '/api/v1/jobs', { query: { state, queue, type, limit, cursor } });
  }

  /** GET /api/v1/jobs/{id} */
  get(id: string): Promise<Job> {
    return this.http.request<Job>('GET', `/api/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** POST /api/v1/jobs/{id}/retry */
  retry(id: string): Promise<Job> {
    return this.http.request<Job>('POST', `/api/v1/jobs/${encodeURIComponent(id)}/retry`);
  }

  /** POST /api/v1/jobs/{id}/cancel */
  cancel(id: string): Promise<Job> {
    return this.http.request<Job>('POST', `/api/v1/jobs/${encodeURIComponent(id)}/cancel`);
  }

  /** GET /api/v1/jobs/stats */
  stats(): Promise<JobStats> {
    return this.http.request<JobStats>('GET', '/api/v1/jobs/stats');
  }
}
