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
  const meta = await host.modelMetadata(name, targetVariant);
  return {
    name: meta.name,
    versions: meta.versions,
    platform: PLATFORMS[meta.framework] ?? meta.framework,
    inputs: meta.signature.inputs.map(oipTensorMetadata),
    outputs: meta.signature.outputs.map(oipTensorMetadata),
  };
}
