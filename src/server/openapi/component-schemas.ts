import type { FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import { ArtifactInfoSchema } from '../routes/artifact-routes.js';
import { JobSchema } from '../routes/jobs-routes.js';
import { ApiKeyInfoSchema as ApiKeyInfo, CreatedKeySchema as CreatedKey } from '../../auth/index.js';
import {
  ApprovalStatusSchema,
  ArtifactFileSchema,
  AuditEventSchema,
  ComparisonSchema,
  ExperimentSchema,
  LineageSchema,
  MetricPointSchema,
  ModelGroupSchema,
  ModelVersionSchema,
  RegistryEventSchema,
  RunSchema,
  RunStatusSchema,
  WebhookSchema,
} from '../../registry/index.js';
import { ProblemSchema } from './problem-schema.js';
import {
  DataCaptureSchema,
  DeployResultSchema,
  EndpointListSchema,
  EndpointSchema,
  EndpointVariantSchema,
  ExecutionTriggerSchema,
  LogLineSchema,
  OipInferenceRequestSchema,
  OipInferenceResponseSchema,
  OipModelMetadataSchema,
  OipTensorMetadataSchema,
  OipTensorSchema,
  PipelineDescriptionSchema,
  PipelineExecutionSchema,
  PipelineSchema,
  ResolvedModelSchema,
  StepRecordSchema,
} from './resource-schemas.js';

/**
 * The named schemas of the OpenAPI document (`components.schemas`), by name. Most are the very
 * objects the routes validate and serialise with, so a route's inline schema is documented as a
 * reference to its name (see `nameComponents`).
 */
export const componentSchemas: Record<string, TSchema> = {
  Problem: ProblemSchema,
  ModelGroup: ModelGroupSchema,
  ModelVersion: ModelVersionSchema,
  Lineage: LineageSchema,
  ApprovalStatus: ApprovalStatusSchema,
  ArtifactFile: ArtifactFileSchema,
  AuditEvent: AuditEventSchema,
  Comparison: ComparisonSchema,
  RegistryEvent: RegistryEventSchema,
  Webhook: WebhookSchema,
  Experiment: ExperimentSchema,
  Run: RunSchema,
  RunStatus: RunStatusSchema,
  MetricPoint: MetricPointSchema,
  Job: JobSchema,
  ApiKey: ApiKeyInfo,
  CreatedApiKey: CreatedKey,
  ArtifactInfo: ArtifactInfoSchema,
  Endpoint: EndpointSchema,
  EndpointVariant: EndpointVariantSchema,
  ResolvedModel: ResolvedModelSchema,
  DataCapture: DataCaptureSchema,
  EndpointList: EndpointListSchema,
  DeployResult: DeployResultSchema,
  Pipeline: PipelineSchema,
  PipelineDescription: PipelineDescriptionSchema,
  PipelineExecution: PipelineExecutionSchema,
  ExecutionTrigger: ExecutionTriggerSchema,
  StepRecord: StepRecordSchema,
  LogLine: LogLineSchema,
  OipTensor: OipTensorSchema,
  OipTensorMetadata: OipTensorMetadataSchema,
  OipInferenceRequest: OipInferenceRequestSchema,
  OipInferenceResponse: OipInferenceResponseSchema,
  OipModelMetadata: OipModelMetadataSchema,
};

// Keyed by canonical JSON: TypeBox builds plain objects, so a schema used inline in a route is
// recognised whether it is the same object or an equal copy.
const byJson = new Map<string, string>(Object.entries(componentSchemas).map(([name, schema]) => [JSON.stringify(schema), name]));

/** The component name of a schema equal to one of `componentSchemas`, if any. */
export function componentNameOf(schema: unknown): string | undefined {
  return schema && typeof schema === 'object' ? byJson.get(JSON.stringify(schema)) : undefined;
}

/**
 * A copy of `schema` where every sub-schema equal to a component (other than `self`) is replaced by
 * `{ $ref: '<Name>#' }`, which @fastify/swagger turns into `#/components/schemas/<Name>`.
 */
export function nameComponents(schema: unknown, self?: string): unknown {
  const name = componentNameOf(schema);
  if (name && name !== self) return { $ref: `${name}#` };
  if (Array.isArray(schema)) return schema.map((s) => nameComponents(s, self));
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    // Examples are data, not schemas: a value that happens to look like a schema stays as it is.
    out[k] = k === 'examples' || k === 'default' || k === 'const' ? v : nameComponents(v, self);
  }
  return out;
}

/**
 * Registers every component with `fastify.addSchema` under its name as `$id`, so it is listed in
 * `components.schemas` and routes may `$ref` it. Nested components are references to each other.
 */
export function registerComponentSchemas(app: FastifyInstance): void {
  for (const [name, schema] of Object.entries(componentSchemas)) {
    app.addSchema({ ...(nameComponents(schema, name) as object), $id: name });
  }
}
