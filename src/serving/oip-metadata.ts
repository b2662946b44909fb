import type { EndpointHost } from './endpoint-host.js';
import { oipTensorMetadata } from './oip-codec.js';

/** Open Inference Protocol `platform` names of the runtimes. */
const PLATFORMS: Record<string, string> = { onnx: 'onnxruntime_onnx', js: 'capstan_js', http: 'capstan_http' };

/** OIP model metadata of an endpoint, as `GET /v2/models/{name}` answers it. */
export interface OipModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: ReturnType<typeof oipTensorMetadata>[];
  outputs: ReturnType<typeof oipTensorMetadata>[];
}

/**
 * The endpoint as one OIP model: its versions, and the signature of the variant `targetVariant` names
 * (else the first variant taking traffic, else the first), loading the endpoint here if needed.
 */
export async function oipModelMetadata(host: EndpointHost, name: string, targetVariant: string | undefined): Promise<OipModelMetadata> {
  const ep = await host.ensure(name);
  const variant = ep.router.get(targetVariant ?? '') ?? ep.variants.find((v) => v.weight > 0) ?? ep.variants[0];
  const sig = variant.pool.signature;
  return {
    name: ep.name,
    versions: [...new Set(ep.variants.map((v) => String(v.config.resolved.version)))],
    platform: PLATFORMS[variant.config.resolved.framework] ?? variant.config.resolved.framework,
    inputs: sig.inputs.map(oipTensorMetadata),
    outputs: sig.outputs.map(oipTensorMetadata),
  };
}
