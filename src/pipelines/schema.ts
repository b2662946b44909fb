/**
 * The published JSON Schema of a pipeline file (`schemas/pipeline.schema.json`), for editors and
 * other tools. `compilePipeline` is the authority — it also checks references, branches and cycles,
 * which a schema cannot express; a test keeps the published file equal to this object.
 */

const str = { type: 'string', minLength: 1 };
const duration = { oneOf: [{ type: 'number', minimum: 0 }, { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)?\\s*$' }] };
const scalar = { type: ['string', 'number', 'boolean'] };
const scalarMap = { type: 'object', additionalProperties: scalar };
const nameList = { type: 'array', items: str };

const common = {
  name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
  description: { type: 'string' },
  depends_on: nameList,
  retry: {
    type: 'object',
    additionalProperties: false,
    properties: { attempts: { type: 'integer', minimum: 1, maximum: 20 }, backoff: duration, backoff_rate: { type: 'number', minimum: 1 }, max_backoff: duration },
  },
  timeout: duration,
  cache: { type: 'boolean' },
};

const strMap = { type: 'object', additionalProperties: { type: 'string' } };
const kubernetes = {
  type: 'object',
  additionalProperties: false,
  description: 'How the step runs as a Kubernetes Job (executor: kubernetes); see docs/scale.md',
  properties: {
    image: str,
    resources: { type: 'object', additionalProperties: false, properties: { cpu: scalar, memory: str, gpu: { type: 'integer', minimum: 1 } } },
    secret_env: strMap,
    node_selector: strMap,
    tolerations: { type: 'array', items: { type: 'object', additionalProperties: false, properties: { key: str, operator: str, value: { type: 'string' }, effect: str } } },
    service_account: str,
    active_deadline: duration,
  },
};

function stepSchema(types: string[], props: Record<string, unknown>, required: string[]): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'type', ...required],
    properties: { ...common, type: { enum: types }, ...props },
  };
}

/** The JSON Schema (draft 2020-12) of a pipeline definition file. */
export const pipelineJsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://capstan.dev/schemas/pipeline.schema.json',
  title: 'Capstan pipeline',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'steps'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,62}$' },
    description: { type: 'string' },
    code: { type: 'string', description: 'Directory, relative to this file, snapshotted as the steps\' working directory' },
    parameters: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: { type: { enum: ['string', 'integer', 'number', 'boolean'] }, default: scalar, description: { type: 'string' } },
      },
    },
    steps: {
      type: 'array',
      minItems: 1,
      items: {
        oneOf: [
          stepSchema(['processing', 'training', 'evaluation'], {
            command: { oneOf: [str, { type: 'array', minItems: 1, items: { type: ['string', 'number'] } }] },
            builtin: { type: 'string', pattern: '^[a-z0-9_-]+\\.[a-z0-9_.-]+$' },
            inputs: scalarMap,
            outputs: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,63}$' }, uniqueItems: true },
            hyperparameters: scalarMap,
            env: scalarMap,
            executor: str,
            features: {
              type: 'object',
              additionalProperties: false,
              required: ['entities', 'features'],
              description: 'A point-in-time training set from the feature store, built before the step runs into an input channel',
              properties: {
                channel: str,
                entities: str,
                features: { type: 'array', minItems: 1, items: str },
                format: { enum: ['parquet', 'csv'] },
                as_of_known_time: { type: 'boolean' },
                timestamp_column: str,
              },
            },
            kubernetes,
            metric_definitions: {
              type: 'array',
              items: { type: 'object', additionalProperties: false, required: ['name', 'regex'], properties: { name: str, regex: str } },
            },
            property_files: {
              type: 'array',
              items: { type: 'object', additionalProperties: false, required: ['name', 'output', 'path'], properties: { name: str, output: str, path: str } },
            },
          }, []),
          stepSchema(['condition'], { if: str, then: nameList, else: nameList }, ['if']),
          stepSchema(['register-model'], {
            model: str,
            model_data: str,
            approval: { enum: ['PendingManualApproval', 'Approved'] },
            metrics_from: nameList,
            metadata: scalarMap,
          }, ['model', 'model_data']),
          stepSchema(['deploy'], { endpoint: str, model: str, version: scalar, alias: str, config: { type: 'object' }, require_approval: { type: 'boolean' } }, ['endpoint', 'model']),
          stepSchema(['transform'], { model: str, version: scalar, alias: str, input: str, output: str, config: { type: 'object' } }, ['model', 'input', 'output']),
          stepSchema(['function'], { module: str, handler: str, args: { type: 'object' }, inputs: scalarMap }, ['module']),
          stepSchema(['fail'], { message: str }, []),
        ],
      },
    },
    defaults: {
      type: 'object',
      additionalProperties: false,
      description: 'Per-pipeline defaults of command steps; a step\'s own fields override them',
      properties: { executor: str, kubernetes },
    },
    triggers: {
      type: 'array',
      items: {
        oneOf: [
          { type: 'object', additionalProperties: false, required: ['type', 'schedule'], properties: { name: str, type: { const: 'cron' }, schedule: str, timezone: str, params: { type: 'object' } } },
          { type: 'object', additionalProperties: false, required: ['type', 'prefix', 'parameter'], properties: { name: str, type: { const: 'artifact' }, prefix: str, parameter: str, params: { type: 'object' } } },
          { type: 'object', additionalProperties: false, required: ['type'], properties: { name: str, type: { const: 'webhook' }, params: { type: 'object' } } },
        ],
      },
    },
  },
} as const;
