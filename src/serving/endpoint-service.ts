import type { DataCaptureInput, EndpointConfigInput, VariantInput } from './endpoint-config.js';
import type { Endpoint, ResolvedModel } from './endpoint.js';
import type { TrafficPolicyConfig } from './traffic-policy.js';
import type { EndpointStats, VariantStatsOptions } from './variant-stats.js';
import type { EndpointModels } from './multi-model-state.js';

/** Who performs an action, for logs and status reasons. */
export interface ServingActionContext {
  /** `key:<name>` over HTTP, `local:<user>` in the CLI, `system:<what>` for automation. */
  actor?: string;
  /**
   * Deploys versions that are not `Approved`, recording who, when, which version and this reason in
   * the endpoint's audit trail. The API allows it to admin keys only; default off.
   */
  allowUnapproved?: { reason: string };
}

/**
 * Input for `update`. `variants` replaces the variant list (unchanged variants keep their workers;
 * their model references are resolved again, so an alias that moved is picked up); `weights` only
 * changes traffic shares of existing variants. `dataCapture` replaces the capture settings.
 */
export interface UpdateEndpointInput {
  variants?: VariantInput[];
  weights?: Record<string, number>;
  dataCapture?: DataCaptureInput;
  /** Replaces the traffic policy; default unchanged. */
  trafficPolicy?: TrafficPolicyConfig;
}

/** Options of `deploy`; each defaults to the current variant's setting, or the variant default on create. */
export interface DeployOptions extends Omit<VariantInput, 'model' | 'weight'> {
  /** Variant name; default the current single variant's name, or `primary`. */
  variant?: string;
  /** Data capture settings; default unchanged (off on create). */
  dataCapture?: DataCaptureInput;
}

/** What `deploy` did. */
export interface DeployResult {
  action: 'created' | 'updated' | 'unchanged';
  endpoint: Endpoint;
  /** The model served before, when the endpoint existed. */
  previous?: ResolvedModel[];
  /** The version now served. */
  model: ResolvedModel;
}

/** Options of one invocation: the DESIGN §4 headers. */
export interface InvokeOptions {
  /** Default `application/json`. */
  contentType?: string;
  targetVariant?: string;
  /** The model of a multi-model variant (`X-Capstan-Target-Model`): `ncf/3`, `ncf@champion` or a folder name under an artifact prefix. */
  targetModel?: string;
  /** The caller's stable key (`X-Capstan-Sticky-Key`) for a sticky traffic policy. */
  stickyKey?: string;
  inferenceId?: string;
  customAttributes?: string;
}

/** The answer to an invocation. */
export interface InvokeResult {
  /** The variant that answered (`X-Capstan-Invoked-Variant`). */
  variant: string;
  /** The model that answered on a multi-model variant (`X-Capstan-Invoked-Model`). */
  model?: string;
  contentType: string;
  /** The response body as sent by the model. */
  body: string;
}

/**
 * Real-time endpoints: the operations the API, the CLI and the pipelines' deploy step use. The local
 * service (`LocalEndpointService`) and the HTTP client (`EndpointsClient`) implement it alike.
 */
export interface EndpointService {
  /** Creates an endpoint and loads its variants; rejects, leaving no endpoint, when a version is not approved or a model does not load. */
  create(name: string, input: EndpointConfigInput, ctx?: ServingActionContext): Promise<Endpoint>;
  /** Changes variants, weights or data capture blue/green; the old configuration serves until the new one is ready. */
  update(name: string, input: UpdateEndpointInput, ctx?: ServingActionContext): Promise<Endpoint>;
  /** One endpoint with each variant's pinned version and, where served here, live weight and workers. */
  describe(name: string): Promise<Endpoint>;
  /** Every endpoint, by name. */
  list(): Promise<Endpoint[]>;
  /** Deletes an endpoint; in-flight requests finish first. */
  delete(name: string, ctx?: ServingActionContext): Promise<void>;
  /** Sends one request to an endpoint. */
  invoke(name: string, body: string, options?: InvokeOptions): Promise<InvokeResult>;
  /** Each variant's requests, errors and latency percentiles over a recent window, summed over every serving process. */
  variantStats(name: string, options?: VariantStatsOptions): Promise<EndpointStats>;
  /** What each multi-model variant of the endpoint has loaded in the answering process, with its cache counters. */
  models(name: string): Promise<EndpointModels>;
  /** Creates the endpoint serving `modelRef`, or updates it to that model blue/green. */
  deploy(name: string, modelRef: string, options?: DeployOptions, ctx?: ServingActionContext): Promise<DeployResult>;
}
