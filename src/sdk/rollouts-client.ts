import type { ServingActionContext } from '../serving/index.js';
import type { AbReport, AutoDeployInput, AutoDeployPolicy, Deployment, FeedbackInput, FeedbackResult, RolloutService, ShadowReport, StartDeploymentInput } from '../rollouts/index.js';
import type { HttpClient } from './http-client.js';

const path = (name: string) => `/api/v1/endpoints/${encodeURIComponent(name)}/deployments`;

/** Deployments over HTTP; the same interface as the embedded rollout service. The server fills in the actor. */
export class RolloutsClient implements RolloutService {
  constructor(private readonly http: HttpClient) {}

  /** POST /api/v1/endpoints/{name}/deployments */
  start(endpoint: string, input: StartDeploymentInput, ctx: ServingActionContext = {}): Promise<Deployment> {
    return this.http.request<Deployment>('POST', path(endpoint), { body: { ...input, ...(ctx.allowUnapproved ? { allowUnapproved: ctx.allowUnapproved } : {}) } });
  }

  /** GET /api/v1/endpoints/{name}/deployments */
  async list(endpoint: string): Promise<Deployment[]> {
    return (await this.http.request<{ items: Deployment[] }>('GET', path(endpoint))).items;
  }

  /** GET /api/v1/endpoints/{name}/deployments/{id} */
  get(endpoint: string, id: string): Promise<Deployment> {
    return this.http.request<Deployment>('GET', `${path(endpoint)}/${encodeURIComponent(id)}`);
  }

  /** POST /api/v1/endpoints/{name}/deployments/rollback */
  rollback(endpoint: string): Promise<Deployment> {
    return this.http.request<Deployment>('POST', `${path(endpoint)}/rollback`);
  }

  /** POST /api/v1/endpoints/{name}/deployments/resume */
  resume(endpoint: string): Promise<Deployment> {
    return this.http.request<Deployment>('POST', `${path(endpoint)}/resume`);
  }

  /** PUT /api/v1/models/{name}/auto-deploy */
  setAutoDeploy(model: string, input: AutoDeployInput): Promise<AutoDeployPolicy> {
    return this.http.request<AutoDeployPolicy>('PUT', `/api/v1/models/${encodeURIComponent(model)}/auto-deploy`, { body: input });
  }

  /** GET /api/v1/models/{name}/auto-deploy */
  getAutoDeploy(model: string): Promise<AutoDeployPolicy> {
    return this.http.request<AutoDeployPolicy>('GET', `/api/v1/models/${encodeURIComponent(model)}/auto-deploy`);
  }

  /** DELETE /api/v1/models/{name}/auto-deploy */
  async removeAutoDeploy(model: string): Promise<void> {
    await this.http.request<void>('DELETE', `/api/v1/models/${encodeURIComponent(model)}/auto-deploy`);
  }

  /** GET /api/v1/endpoints/{name}/shadow-report */
  shadowReport(endpoint: string): Promise<ShadowReport> {
    return this.http.request<ShadowReport>('GET', `/api/v1/endpoints/${encodeURIComponent(endpoint)}/shadow-report`);
  }

  /** POST /api/v1/endpoints/{name}/feedback */
  feedback(endpoint: string, input: FeedbackInput): Promise<FeedbackResult> {
    return this.http.request<FeedbackResult>('POST', `/api/v1/endpoints/${encodeURIComponent(endpoint)}/feedback`, { body: input });
  }

  /** GET /api/v1/endpoints/{name}/ab-report */
  abReport(endpoint: string): Promise<AbReport> {
    return this.http.request<AbReport>('GET', `/api/v1/endpoints/${encodeURIComponent(endpoint)}/ab-report`);
  }
}
