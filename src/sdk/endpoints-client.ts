import type { EndpointConfigInput } from '../serving/index.js';
import type {
  DeployOptions,
  DeployResult,
  EndpointService,
  InvokeOptions,
  InvokeResult,
  ServingActionContext,
  UpdateEndpointInput,
} from '../serving/index.js';
import type { Endpoint, EndpointModels, EndpointStats, VariantStatsOptions } from '../serving/index.js';
import type { HttpClient } from './http-client.js';

const path = (name: string) => `/api/v1/endpoints/${encodeURIComponent(name)}`;

/** The unapproved-deploy override travels in the body; the server checks the key's role and records the actor. */
const override = (ctx: ServingActionContext) => (ctx.allowUnapproved ? { allowUnapproved: ctx.allowUnapproved } : {});

/** Real-time endpoints over HTTP; the same interface as `platform.serving`. The server fills in the actor. */
export class EndpointsClient implements EndpointService {
  constructor(private readonly http: HttpClient) {}

  /** POST /api/v1/endpoints */
  create(name: string, input: EndpointConfigInput, ctx: ServingActionContext = {}): Promise<Endpoint> {
    return this.http.request<Endpoint>('POST', '/api/v1/endpoints', { body: { name, ...input, ...override(ctx) } });
  }

  /** PATCH /api/v1/endpoints/{name} */
  update(name: string, input: UpdateEndpointInput, ctx: ServingActionContext = {}): Promise<Endpoint> {
    return this.http.request<Endpoint>('PATCH', path(name), { body: { ...input, ...override(ctx) } });
  }

  /** GET /api/v1/endpoints/{name} */
  describe(name: string): Promise<Endpoint> {
    return this.http.request<Endpoint>('GET', path(name));
  }

  /** GET /api/v1/endpoints */
  async list(): Promise<Endpoint[]> {
    return (await this.http.request<{ items: Endpoint[] }>('GET', '/api/v1/endpoints')).items;
  }

  /** DELETE /api/v1/endpoints/{name} */
  async delete(name: string, _ctx?: ServingActionContext): Promise<void> {
    await this.http.request<void>('DELETE', path(name));
  }

  /** POST /endpoints/{name}/invocations */
  async invoke(name: string, body: string, options: InvokeOptions = {}): Promise<InvokeResult> {
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json' };
    if (options.targetVariant) headers['x-capstan-target-variant'] = options.targetVariant;
    if (options.targetModel) headers['x-capstan-target-model'] = options.targetModel;
    if (options.stickyKey) headers['x-capstan-sticky-key'] = options.stickyKey;
    if (options.inferenceId) headers['x-capstan-inference-id'] = options.inferenceId;
    if (options.customAttributes) headers['x-capstan-custom-attributes'] = options.customAttributes;
    const res = await this.http.requestText('POST', `/endpoints/${encodeURIComponent(name)}/invocations`, { body, headers });
    const model = res.headers.get('x-capstan-invoked-model');
    return { variant: res.headers.get('x-capstan-invoked-variant') ?? '', contentType: res.headers.get('content-type') ?? '', body: res.text, ...(model ? { model } : {}) };
  }

  /** GET /api/v1/endpoints/{name}/stats */
  variantStats(name: string, options: VariantStatsOptions = {}): Promise<EndpointStats> {
    const query = options.windowMs !== undefined ? `?windowMs=${encodeURIComponent(String(options.windowMs))}` : '';
    return this.http.request<EndpointStats>('GET', `${path(name)}/stats${query}`);
  }

  /** GET /api/v1/endpoints/{name}/models */
  models(name: string): Promise<EndpointModels> {
    return this.http.request<EndpointModels>('GET', `${path(name)}/models`);
  }

  /** POST /api/v1/endpoints/{name}/deploy */
  deploy(name: string, modelRef: string, options: DeployOptions = {}, ctx: ServingActionContext = {}): Promise<DeployResult> {
    return this.http.request<DeployResult>('POST', `${path(name)}/deploy`, { body: { model: modelRef, ...options, ...override(ctx) } });
  }
}
