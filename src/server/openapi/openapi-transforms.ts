import type { SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import { errorCatalogue, type ErrorCode } from '../../core/errors.js';
import type { RouteAccess } from '../../auth/index.js';
import { componentNameOf, nameComponents } from './component-schemas.js';
import type { DocMedia, OperationDoc, OperationDocs } from './operation-doc.js';
import { exampleProblem, PROBLEM_MEDIA_TYPE } from './problem-schema.js';

/** What the document transform needs to know about a route beyond its OpenAPI operation. */
interface RouteFacts {
  doc: OperationDoc;
  access: RouteAccess | undefined;
  /** Fastify validates params, query or body (so 400 CAPSTAN_REQUEST_INVALID is possible). */
  validated: boolean;
  /** Fastify parses a JSON body (malformed JSON, too large, wrong content type). */
  jsonBody: boolean;
  /** Example path for problem examples. */
  path: string;
  /** The HTTP method, upper case. */
  method: string;
}

type JsonObject = Record<string, unknown>;

const AUTH_ERRORS: ErrorCode[] = ['CAPSTAN_AUTH_REQUIRED', 'CAPSTAN_AUTH_INVALID_KEY', 'CAPSTAN_AUTH_FORBIDDEN'];
const BODY_ERRORS: ErrorCode[] = ['CAPSTAN_REQUEST_MALFORMED_JSON', 'CAPSTAN_REQUEST_TOO_LARGE', 'CAPSTAN_REQUEST_UNSUPPORTED_MEDIA_TYPE'];

/** True for an empty schema (`Type.Unknown()`), which documents nothing. */
function isEmptySchema(schema: unknown): boolean {
  return !!schema && typeof schema === 'object' && Object.keys(schema).length === 0;
}

/** A schema as an OpenAPI value: a reference when it is a named component. */
function docSchema(schema: unknown): unknown {
  if (schema === undefined) return {};
  const name = componentNameOf(schema);
  return name ? { $ref: `#/components/schemas/${name}` } : JSON.parse(JSON.stringify(nameComponentsLocal(schema)));
}

/** Like nameComponents, but with references already in `#/components/schemas/` form (no resolver runs here). */
function nameComponentsLocal(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(nameComponents(schema)).replace(/"\$ref":"([A-Za-z0-9]+)#"/g, '"$ref":"#/components/schemas/$1"'));
}

function mediaOf(media: DocMedia): JsonObject {
  return { schema: docSchema(media.schema), ...(media.example !== undefined ? { example: media.example } : {}) };
}

/** The problem responses of an operation, grouped by status, each listing its codes with an example per code. */
function problemResponses(codes: ErrorCode[], path: string): Record<string, JsonObject> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = errorCatalogue[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<string, JsonObject> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = {
      description: list.map((c) => `\`${c}\`: ${errorCatalogue[c].title}`).join('; '),
      content: {
        [PROBLEM_MEDIA_TYPE]: {
          schema: { $ref: '#/components/schemas/Problem' },
          examples: Object.fromEntries(list.map((c) => [c, { summary: errorCatalogue[c].title, value: exampleProblem(c, path) }])),
        },
      },
    };
  }
  return out;
}

/** The codes an operation can answer whatever it does: auth, validation, body parsing, internal errors. */
function genericErrors(facts: RouteFacts): ErrorCode[] {
  const codes: ErrorCode[] = [];
  if (facts.validated) codes.push('CAPSTAN_REQUEST_INVALID');
  if (facts.jsonBody) codes.push(...BODY_ERRORS);
  if (facts.access && facts.access !== 'public' && facts.access !== 'signature') codes.push(...AUTH_ERRORS);
  // The Host/Origin guard covers every route but the public probes and the docs (see docs/server.md).
  if (facts.access !== 'public') {
    codes.push('CAPSTAN_REQUEST_HOST_NOT_ALLOWED', 'CAPSTAN_REQUEST_URL_INVALID');
    if (facts.method !== 'GET' && facts.method !== 'HEAD') codes.push('CAPSTAN_REQUEST_CROSS_ORIGIN');
  }
  codes.push('CAPSTAN_INTERNAL');
  return codes;
}

const ROLE_NOTE: Partial<Record<RouteAccess, string>> = {
  public: 'No API key needed.',
  signature: 'No API key: the request is authenticated by its HMAC signature.',
};

/**
 * The two @fastify/swagger hooks that turn route schemas plus `docs` into the published document:
 * `transform` names components, adds operation ids and descriptions and documentation-only success
 * responses; `transformObject` adds examples, problem+json error responses, documentation-only
 * request bodies and per-operation security. Neither changes what a route validates or serialises.
 */
export function openapiTransforms(docs: OperationDocs): { transform: SwaggerTransform; transformObject: SwaggerTransformObject } {
  const facts = new Map<string, RouteFacts>();

  const transform: SwaggerTransform = ({ schema, url, route }) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const doc = docs[`${methods[0]} ${url}`];
    if (!schema || schema.hide || !doc) return { schema, url };
    const access = (route.config as { access?: RouteAccess } | undefined)?.access;
    const response: Record<string, unknown> = { ...((schema.response as Record<string, unknown> | undefined) ?? {}) };
    for (const [status, s] of Object.entries(doc.responses ?? {})) {
      if (response[status] === undefined || isEmptySchema(response[status])) response[status] = s === null ? { type: 'null', description: doc.responseDescription ?? 'No content' } : s;
    }
    facts.set(doc.operationId, { doc, access, validated: !!(schema.body || schema.querystring || schema.params), jsonBody: !!schema.body, method: String(methods[0]).toUpperCase(), path: url.replace(/:([A-Za-z]+)/g, '$1').replace('*', 'path/to/file') });
    const role = access && (ROLE_NOTE[access] ?? `Needs an API key with role \`${access}\` (or one that grants it) when auth is on.`);
    const out: FastifySchema = {
      ...schema,
      operationId: doc.operationId,
      summary: schema.summary ?? doc.summary,
      description: role ? `${doc.description}\n\n${role}` : doc.description,
      response: nameComponents(response) as FastifySchema['response'],
      ...(schema.body ? { body: nameComponents(schema.body) } : {}),
    };
    // Machine-readable twin of the role sentence, for client generators and gateways.
    if (access) Object.assign(out, { 'x-capstan-access': access });
    return { schema: out, url };
  };

  const transformObject: SwaggerTransformObject = (documentObject) => {
    if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
    const openapi = documentObject.openapiObject as JsonObject & { paths?: Record<string, Record<string, JsonObject>> };
    for (const pathItem of Object.values(openapi.paths ?? {})) {
      for (const op of Object.values(pathItem)) {
        const f = typeof op?.operationId === 'string' ? facts.get(op.operationId) : undefined;
        if (!f) continue;
        const { doc } = f;
        if (f.access === 'public' || f.access === 'signature') op.security = [];
        if (doc.requestBody) {
          op.requestBody = { required: true, description: doc.requestBody.description, content: Object.fromEntries(Object.entries(doc.requestBody.content).map(([type, m]) => [type, mediaOf(m)])) };
        }
        const jsonBody = (op.requestBody as { content?: Record<string, JsonObject> } | undefined)?.content?.['application/json'];
        if (doc.requestExample !== undefined && jsonBody) jsonBody.example = doc.requestExample;
        const responses = (op.responses ?? {}) as Record<string, JsonObject>;
        const success = Object.keys(responses).find((s) => s.startsWith('2'));
        if (success) {
          const r = responses[success];
          if (doc.responseDescription || r.description === 'Default Response') r.description = doc.responseDescription ?? 'Success';
          const content = r.content as Record<string, JsonObject> | undefined;
          if (content && doc.responseContentType && !content[doc.responseContentType]) {
            r.content = { [doc.responseContentType]: content['application/json'] ?? Object.values(content)[0] };
          }
          if (doc.responseContent) r.content = Object.fromEntries(Object.entries(doc.responseContent).map(([type, m]) => [type, mediaOf(m)]));
          const media = r.content ? Object.values(r.content as Record<string, JsonObject>)[0] : undefined;
          if (media && doc.responseExample !== undefined) media.example = doc.responseExample;
        }
        op.responses = { ...responses, ...problemResponses([...genericErrors(f), ...(doc.errors ?? [])], f.path) };
      }
    }
    return openapi;
  };

  return { transform, transformObject };
}
