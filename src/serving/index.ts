/**
 * The serving context's public surface: the endpoint service, the host that runs endpoints in this
 * process, and the context module the platform installs.
 */
import { defineContext } from '../storage/context-module.js';
import type { RegistryService } from '../registry/index.js';
import { endpointsRoutes } from './http/endpoints-routes.js';
import { invocationRoutes } from './http/invocation-routes.js';
import { serving as endpointTables } from './migrations/0004-serving.js';
import { servingVariantStats } from './migrations/0010-serving-variant-stats.js';
import { createServing, type ServingContext } from './serving-context.js';
import type { FeatureService } from '../features/index.js';

export * from './endpoint-service.js';
export * from './endpoint-config.js';
export type * from './endpoint.js';
export { EndpointHost } from './endpoint-host.js';
export type { ModelRunner, ModelRunnerOptions } from './model-runner.js';
export type { AnsweredInvocation } from './answered-invocation.js';
export { captureKeyPrefix } from './data-capture.js';
export type { CaptureSample, CaptureSamplePage, CaptureSampleQuery } from './capture-samples.js';
export { createServing, type DeployStepRequest, type ServingContext, type ServingOptions, type ServingPlatformParts } from './serving-context.js';
export type { OipModelMetadata } from './oip-metadata.js';
export { registerBuiltinHandler } from './handlers/handler-registry.js';
export type { HandlerContext, HandlerFactory, InferenceHandler, InferenceRequest, InferenceResponse, Prepared } from './handlers/inference-handler.js';
export type { TensorData, Tensors } from './runtimes/tensors.js';
export type * from './variant-stats.js';
export type * from './multi-model-state.js';
export type { MultiModelConfig, MultiModelInput } from './multi-model-config.js';
export type { TrafficPolicyConfig, TrafficPolicyKind } from './traffic-policy.js';
export { TRAFFIC_POLICY_KINDS } from './traffic-policy.js';

/** Real-time endpoints: `platform.serving`, the endpoint host (a background service), `/api/v1/endpoints`, the invocation and OIP routes. */
export const servingContext = defineContext<ServingContext>({
  name: 'serving',
  migrations: { '0004_serving': endpointTables, '0010_serving_variant_stats': servingVariantStats },
  create(parts) {
    // Models resolve through the registry when an endpoint loads, so the two contexts may be listed in any order.
    const serving = createServing({ ...parts, registry: () => parts.use<RegistryService>('registry'), features: () => parts.use<FeatureService>('features') }, { statsFlushMs: parts.config.serving.statsFlushMs });
    return { service: serving, background: [serving.background], close: () => serving.close() };
  },
  routes: [endpointsRoutes, invocationRoutes],
});
