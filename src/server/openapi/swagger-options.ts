import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifySwaggerUiOptions } from '@fastify/swagger-ui';
import { openapiTransforms } from './openapi-transforms.js';
import { operationDocs } from './operation-docs.js';

/** Where the OpenAPI document is served; Swagger UI's explore bar loads it from here. */
export const OPENAPI_PATH = '/openapi.json';

const TAGS = [
  { name: 'health', description: 'Liveness and readiness probes; no API key needed.' },
  { name: 'keys', description: 'API key administration (role `admin`). A key is sent as `Authorization: Bearer <key>`.' },
  { name: 'jobs', description: 'The durable job queue behind webhooks, pipelines and deploys: inspect, retry, cancel.' },
  { name: 'artifacts', description: 'Raw transfer of objects in the artifact store (model packages, datasets, outputs).' },
  { name: 'experiments', description: 'Experiment tracking: runs with params, tags, metric series and artifacts.' },
  { name: 'registry', description: 'The model registry: model groups, immutable versions, approval, aliases, history and comparison.' },
  { name: 'webhooks', description: 'HMAC-signed outbound notifications of registry events (role `admin`).' },
  { name: 'endpoints', description: 'Real-time endpoint administration: create, deploy blue/green, weights, data capture.' },
  { name: 'invocations', description: 'The data plane: SageMaker-style invocations and the Open Inference Protocol v2.' },
  { name: 'pipelines', description: 'Pipelines: apply definitions, run executions, follow and search logs, signed webhooks.' },
  { name: 'batch', description: 'Batch transform jobs: bulk scoring of JSON Lines and CSV with a registered model, resumable and exactly-once.' },
  { name: 'async', description: 'Asynchronous invocations: queued requests with stored results and notifications (SageMaker-compatible headers).' },
  { name: 'features', description: 'Feature store: entities and feature groups, ingestion, point-in-time training sets, materialization and online reads.' },
  { name: 'decisions', description: 'Decision service: versioned use cases combining models, features and rules; decisions, records, replay, champion/challenger.' },
  { name: 'notifications', description: 'Notification subscriptions (apply them as kind: Notification) and their delivery log.' },
  { name: 'gitops', description: 'Declarative apply of every resource kind, and git repositories synced by polling and push webhooks.' },
];

/** @fastify/swagger options: OpenAPI 3.1 with named components, operation docs and problem+json errors. */
export function swaggerOptions(auth: boolean): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Capstan API',
        version: '0.1.0',
        description: [
          'Self-hosted MLOps platform: experiment tracking, model registry, pipelines and real-time serving.',
          '',
          'Every error answers `application/problem+json` (schema `Problem`) with a stable `code` from the',
          'catalogue in docs/errors.md; branch on `code`, not on the text. Each operation lists the codes it can answer.',
          auth ? 'API keys are required: send `Authorization: Bearer <key>`.' : 'This server runs without API keys (loopback only); with auth on, send `Authorization: Bearer <key>`.',
        ].join('\n'),
      },
      tags: TAGS,
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: auth ? [{ apiKey: [] }] : [],
    },
    // Components are named after their `$id` (default: def-0, def-1, …).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    ...openapiTransforms(operationDocs),
  };
}

/** Swagger UI at `/docs`, with the explore bar on `/openapi.json` (`/docs/json` serves the same document). */
export const swaggerUiOptions: FastifySwaggerUiOptions = {
  routePrefix: '/docs',
  // The plugin always sets `url` to its own /docs/json; `urls` takes precedence in Swagger UI's explore bar.
  uiConfig: { docExpansion: 'list', urls: [{ url: OPENAPI_PATH, name: `Capstan API (${OPENAPI_PATH})` }] } as FastifySwaggerUiOptions['uiConfig'],
};
