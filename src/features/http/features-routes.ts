import { Type } from 'typebox';
import type { ContextRoutes } from '../../storage/context-module.js';
import type { FeatureDefinitionsInput } from '../feature-definitions.js';
import type { FeatureService, OnlineReadRequest } from '../feature-service.js';
import type { TrainingSetRequest } from '../training-set.js';

const Name = Type.Object({ name: Type.String() });
const VersionQuery = Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1, description: 'Default: the latest version' })) });
const StoredFile = Type.Object(
  {
    uri: Type.Optional(Type.String({ description: 'A URI inside the artifact store (file://… or s3://…)' })),
    key: Type.Optional(Type.String({ description: 'An artifact key' })),
    format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('parquet')], { description: 'Default: from the extension' })),
  },
  { additionalProperties: false },
);

/** Feature store routes: definitions, ingestion, training sets, materialization and online reads. */
export const featuresRoutes: ContextRoutes<FeatureService> = async (app, { service, config }) => {
  app.post(
    '/api/v1/features/apply',
    { config: { access: 'editor' }, schema: { tags: ['features'], summary: 'Create or update entities and feature groups (a features.yaml document as JSON)', body: Type.Object({ entities: Type.Optional(Type.Array(Type.Unknown())), featureGroups: Type.Optional(Type.Array(Type.Unknown())) }) } },
    async (request) => service.apply(request.body as FeatureDefinitionsInput),
  );
  app.get('/api/v1/entities', { config: { access: 'viewer' }, schema: { tags: ['features'], summary: 'List entities' } }, async () => ({ items: await service.listEntities() }));
  app.get('/api/v1/feature-groups', { config: { access: 'viewer' }, schema: { tags: ['features'], summary: 'List feature group versions' } }, async () => ({ items: await service.listGroups() }));
  app.get('/api/v1/features/freshness', { config: { access: 'viewer' }, schema: { tags: ['features'], summary: 'Each materialized group version with the age of its newest online value' } }, async () => ({ items: await service.freshness() }));
  app.get(
    '/api/v1/feature-groups/:name',
    { config: { access: 'viewer' }, schema: { tags: ['features'], summary: 'One feature group version', params: Name, querystring: VersionQuery } },
    async (request) => {
      const { name } = request.params as { name: string };
      const { version } = request.query as { version?: number };
      return service.getGroup(name, version);
    },
  );
  app.post(
    '/api/v1/feature-groups/:name/records',
    {
      config: { access: 'editor' },
      bodyLimit: config.server.invocationBodyLimit,
      schema: { tags: ['features'], summary: 'Push records (a JSON array of objects) into a feature group', params: Name, querystring: VersionQuery, body: Type.Array(Type.Unknown()) },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const { version } = request.query as { version?: number };
      return service.pushRecords(name, request.body as unknown[], { version });
    },
  );
  app.post(
    '/api/v1/feature-groups/:name/ingest',
    { config: { access: 'editor' }, schema: { tags: ['features'], summary: 'Ingest a CSV or Parquet file from the artifact store', params: Name, querystring: VersionQuery, body: StoredFile } },
    async (request) => {
      const { name } = request.params as { name: string };
      const { version } = request.query as { version?: number };
      return service.ingest(name, request.body as { uri?: string; key?: string }, { version });
    },
  );
  app.post(
    '/api/v1/feature-groups/:name/materialize',
    { config: { access: 'editor' }, schema: { tags: ['features'], summary: 'Copy rows ingested since the last run to the online store', params: Name, querystring: VersionQuery } },
    async (request) => {
      const { name } = request.params as { name: string };
      const { version } = request.query as { version?: number };
      return service.materialize(name, { version });
    },
  );
  app.post(
    '/api/v1/training-sets',
    {
      config: { access: 'editor' },
      schema: {
        tags: ['features'],
        summary: 'Build a point-in-time training set into the artifact store',
        body: Type.Object(
          {
            entities: StoredFile,
            features: Type.Array(Type.String(), { minItems: 1 }),
            out: StoredFile,
            asOfKnownTime: Type.Optional(Type.Boolean({ description: 'Also require created time ≤ the row timestamp; default true' })),
            timestampColumn: Type.Optional(Type.String({ description: 'Default event_timestamp' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => service.trainingSet(request.body as TrainingSetRequest),
  );
  app.post(
    '/api/v1/features/online',
    {
      config: { access: 'invoker' },
      schema: {
        tags: ['features'],
        summary: 'Read the latest feature values of many entities, with the training-set TTL rule',
        body: Type.Object(
          {
            features: Type.Array(Type.String(), { minItems: 1 }),
            entities: Type.Array(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))),
            at: Type.Optional(Type.String({ description: 'ISO time to evaluate the TTL at; default now' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => service.readOnline(request.body as OnlineReadRequest),
  );
};
