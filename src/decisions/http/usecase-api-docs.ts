import { errorCatalogue, type ErrorCode } from '../../core/errors.js';
import type { ApiDocsFragment } from '../../storage/context-module.js';
import type { DecisionService, DocumentedUseCase } from '../decision-service.js';

const TAG = 'decision use cases';
const PROBLEM = { $ref: '#/components/schemas/Problem' };
const ERRORS: ErrorCode[] = ['CAPSTAN_DECISIONS_INPUT_INVALID', 'CAPSTAN_DECISIONS_NO_ACTIVE_VERSION', 'CAPSTAN_DECISIONS_TASK_FAILED', 'CAPSTAN_DECISIONS_TASK_TIMEOUT', 'CAPSTAN_DECISIONS_DEADLINE_EXCEEDED', 'CAPSTAN_DECISIONS_RULES_FAILED', 'CAPSTAN_INTERNAL'];

/** `transaction-risk` → `TransactionRisk`. */
function pascal(name: string): string {
  return name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}

/** Problem responses by status, each listing its codes with an example. */
function problems(path: string, codes: ErrorCode[]): Record<string, unknown> {
  const out: Record<string, { description: string; content: Record<string, unknown> }> = {};
  for (const code of codes) {
    const { status, title } = errorCatalogue[code];
    const entry = (out[String(status)] ??= { description: '', content: { 'application/problem+json': { schema: PROBLEM, examples: {} } } });
    entry.description = entry.description ? `${entry.description}; \`${code}\`: ${title}` : `\`${code}\`: ${title}`;
    (entry.content['application/problem+json'] as { examples: Record<string, unknown> }).examples[code] = {
      value: { type: `https://capstan.dev/errors#${code}`, title, status, detail: title, code, instance: path },
    };
  }
  return out;
}

/** The output shape of one use case: outcome (an enum when the rules list them), reasons, output fields. */
function resultSchema(uc: DocumentedUseCase): Record<string, unknown> {
  return {
    type: 'object',
    required: ['id', 'usecase', 'version', 'outcome', 'reasons', 'output'],
    properties: {
      id: { type: 'string', description: 'The decision record id' },
      usecase: { type: 'string', const: uc.name },
      version: { type: 'integer' },
      subject: { type: ['string', 'null'] },
      outcome: uc.outcomes ? { type: 'string', enum: uc.outcomes } : { type: 'string' },
      reasons: { type: 'array', items: { type: 'string' } },
      output: uc.outputFields ? { type: 'object', properties: Object.fromEntries(uc.outputFields.map((f) => [f, {}])) } : { type: 'object' },
      defaulted: { type: 'array', items: { type: 'string' }, description: 'Tasks that failed and answered with their default' },
      latencyMs: { type: 'number' },
    },
  };
}

/** One POST operation per active use case (sync and async), with its input schema and output shape. */
export async function useCaseApiDocs(service: DecisionService): Promise<ApiDocsFragment> {
  const paths: ApiDocsFragment['paths'] = {};
  for (const uc of await service.documented()) {
    const path = `/api/v1/decisions/${uc.name}`;
    const media = { schema: uc.inputSchema, ...(uc.inputExample !== undefined ? { example: uc.inputExample } : {}) };
    const about = `${uc.description ? `${uc.description}\n\n` : ''}Use case \`${uc.name}\`, active version ${uc.version}.`;
    paths[path] = {
      post: {
        operationId: `decide${pascal(uc.name)}`,
        summary: `Decide ${uc.name} (version ${uc.version})`,
        description: `${about} Input outside the schema answers 400 listing each violation and stores nothing.`,
        tags: [TAG],
        'x-capstan-access': 'invoker',
        requestBody: { required: true, content: { 'application/json': media } },
        responses: { 200: { description: 'The decision', content: { 'application/json': { schema: resultSchema(uc) } } }, ...problems(path, ERRORS) },
      },
    };
    paths[`${path}/async`] = {
      post: {
        operationId: `decide${pascal(uc.name)}Async`,
        summary: `Queue a ${uc.name} decision`,
        description: `${about} Answers 202 with a request id; the result is read by id and POSTed, signed, to the callback.`,
        tags: [TAG],
        'x-capstan-access': 'invoker',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', required: ['input'], properties: { input: uc.inputSchema, callback: { type: 'object', required: ['url'], properties: { url: { type: 'string' }, secret: { type: 'string' } } } } }, ...(uc.inputExample !== undefined ? { example: { input: uc.inputExample } } : {}) } },
        },
        responses: { 202: { description: 'Queued' }, ...problems(`${path}/async`, ['CAPSTAN_DECISIONS_INPUT_INVALID', 'CAPSTAN_DECISIONS_NO_ACTIVE_VERSION', 'CAPSTAN_INTERNAL']) },
      },
    };
  }
  return { paths, tags: [{ name: TAG, description: 'One operation per active use case, with its own input schema and output shape.' }] };
}
