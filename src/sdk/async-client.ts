import type { AsyncAccepted, AsyncEndpointConfig, AsyncEndpointConfigInput, AsyncInvocation, AsyncInvocationRequest, AsyncInvocationService } from '../batch/index.js';
import type { HttpClient } from './http-client.js';

const enc = encodeURIComponent;

/** Asynchronous invocations over HTTP (the SageMaker headers); the same interface as the embedded service. */
export class AsyncClient implements AsyncInvocationService {
  constructor(private readonly http: HttpClient) {}

  /** POST /endpoints/{name}/async-invocations */
  async invoke(endpoint: string, request: AsyncInvocationRequest): Promise<AsyncAccepted> {
    const headers: Record<string, string> = { 'content-type': request.contentType ?? 'application/json' };
    const set = (name: string, value: string | number | undefined) => value !== undefined && (headers[`x-amzn-sagemaker-${name}`] = String(value));
    set('inputlocation', request.inputLocation);
    set('content-type', request.contentType);
    set('accept', request.accept);
    set('custom-attributes', request.customAttributes);
    set('inference-id', request.inferenceId);
    set('requestttlseconds', request.requestTtlSeconds);
    set('invocationtimeoutseconds', request.invocationTimeoutSeconds);
    const body = request.body ?? '';
    const res = await this.http.requestRaw('POST', `/endpoints/${enc(endpoint)}/async-invocations`, new TextEncoder().encode(body), headers);
    const json = (await res.json()) as { InferenceId: string; id: string };
    return {
      id: json.id,
      inferenceId: json.InferenceId,
      outputLocation: res.headers.get('x-amzn-sagemaker-outputlocation') ?? '',
      failureLocation: res.headers.get('x-amzn-sagemaker-failurelocation') ?? '',
    };
  }

  /** GET /api/v1/async-invocations/{id} */
  get(id: string): Promise<AsyncInvocation> {
    return this.http.request<AsyncInvocation>('GET', `/api/v1/async-invocations/${enc(id)}`);
  }

  /** PUT /api/v1/endpoints/{name}/async-config */
  configure(endpoint: string, input: AsyncEndpointConfigInput): Promise<AsyncEndpointConfig> {
    return this.http.request<AsyncEndpointConfig>('PUT', `/api/v1/endpoints/${enc(endpoint)}/async-config`, { body: input });
  }

  /** GET /api/v1/endpoints/{name}/async-config */
  config(endpoint: string): Promise<AsyncEndpointConfig> {
    return this.http.request<AsyncEndpointConfig>('GET', `/api/v1/endpoints/${enc(endpoint)}/async-config`);
  }
}
