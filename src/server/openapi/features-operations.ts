import { Type } from 'typebox';
import type { OperationDocs } from './operation-doc.js';

const json = (description: string) => Type.Record(Type.String(), Type.Unknown(), { description });

/** Feature store: definitions, ingestion, point-in-time training sets, materialization and online reads (docs/features.md). */
export const featuresOperations: OperationDocs = {
  'POST /api/v1/features/apply': {
    operationId: 'applyFeatureDefinitions',
    description:
      'Creates or updates entities and feature groups from one document (the JSON form of `features.yaml`), all or nothing. A stored group version may gain features and change its TTL, owner, description and tags; any other change (record id, time columns, a feature removed or retyped) is refused unless applied with the next `version`.',
    errors: ['CAPSTAN_FEATURES_DEFINITION_INVALID', 'CAPSTAN_FEATURES_SCHEMA_INCOMPATIBLE', 'CAPSTAN_FEATURES_NOT_FOUND', 'CAPSTAN_NAME_INVALID'],
    requestExample: {
      entities: [{ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] }],
      featureGroups: [{ name: 'txn', entities: ['customer'], eventTime: 'event_time', ttl: '1h', features: [{ name: 'amount_sum', type: 'float64' }] }],
    },
    responses: { 200: json('What each definition did (created, updated, unchanged)') },
  },
  'GET /api/v1/entities': { operationId: 'listFeatureEntities', description: 'Every entity with its typed join keys.', responses: { 200: json('{ items: entities }') } },
  'GET /api/v1/feature-groups': { operationId: 'listFeatureGroups', description: 'Every version of every feature group.', responses: { 200: json('{ items: feature group versions }') } },
  'GET /api/v1/features/freshness': {
    operationId: 'featureFreshness',
    description:
      'Each group version materialized at least once: the event time of the newest value in the online store, its age in seconds now (the `capstan_features_freshness_seconds` gauge), when materialization last ran and the rows it has written. Versions never materialized are absent.',
    responseExample: { items: [{ group: 'customer_txn', version: 1, newestEventAt: '2025-01-31T13:59:00.000Z', ageSeconds: 62.4, materializedAt: '2025-01-31T14:00:01.000Z', rowsWritten: 1200 }] },
  },
  'GET /api/v1/feature-groups/:name': {
    operationId: 'describeFeatureGroup',
    description: 'One feature group version (default the latest): record id, event and created time columns, TTL, features.',
    errors: ['CAPSTAN_FEATURES_NOT_FOUND'],
    responses: { 200: json('The feature group version') },
  },
  'POST /api/v1/feature-groups/:name/records': {
    operationId: 'pushFeatureRecords',
    description:
      'Validates a JSON array of records against the group schema and merges it into the offline store. A bad value refuses the whole batch with per-row errors (row, column, reason) and writes nothing; records equal to stored ones change nothing; of records sharing a record id and event time the latest created time (then the later record) wins. More than `features.pushMaxRecords` records answer 413. A materialization job is enqueued when rows were written.',
    errors: ['CAPSTAN_FEATURES_NOT_FOUND', 'CAPSTAN_FEATURES_RECORDS_INVALID', 'CAPSTAN_FEATURES_BATCH_TOO_LARGE'],
    requestExample: [{ customer_id: 'c1', event_time: '2024-01-01T10:00:00Z', amount_sum: 10.5 }],
    responses: { 200: json('IngestResult: rows read, written, unchanged, duplicates collapsed, future event times, partitions') },
  },
  'POST /api/v1/feature-groups/:name/ingest': {
    operationId: 'ingestFeatureFile',
    description: 'Ingests a CSV or Parquet file stored in the artifact store (by URI or key), with the same validation and idempotence as a push.',
    errors: ['CAPSTAN_FEATURES_NOT_FOUND', 'CAPSTAN_FEATURES_RECORDS_INVALID', 'CAPSTAN_FEATURES_SOURCE_INVALID', 'CAPSTAN_ARTIFACT_NOT_FOUND'],
    requestExample: { uri: 'file:///srv/capstan/artifacts/data/txn.parquet' },
    responses: { 200: json('IngestResult') },
  },
  'POST /api/v1/feature-groups/:name/materialize': {
    operationId: 'materializeFeatureGroup',
    description: 'Copies the newest value per record id among rows ingested since the last run to the online store; a re-run writes nothing.',
    errors: ['CAPSTAN_FEATURES_NOT_FOUND', 'CAPSTAN_FEATURES_ONLINE_STORE_UNAVAILABLE'],
    responses: { 200: json('MaterializeResult: rows read and written, watermark, newest event time') },
  },
  'POST /api/v1/training-sets': {
    operationId: 'buildTrainingSet',
    description:
      'Joins the requested features onto an entity table (join keys + `event_timestamp`) as known at each row\'s timestamp: event time ≤ timestamp and, unless `asOfKnownTime` is false, created time ≤ timestamp; a value older than the group TTL is null and counted as expired. Every entity row is kept, in input order. Writes Parquet or CSV to the artifact store and answers its digest and per-feature null and expired counts.',
    errors: ['CAPSTAN_FEATURES_NOT_FOUND', 'CAPSTAN_FEATURES_ENTITY_TABLE_INVALID', 'CAPSTAN_FEATURES_SOURCE_INVALID', 'CAPSTAN_ARTIFACT_NOT_FOUND'],
    requestExample: { entities: { key: 'data/entities.csv' }, features: ['txn:amount_sum', 'txn:txn_count'], out: { key: 'training/fraud.parquet' } },
    responses: { 200: json('TrainingSetResult: uri, digest, rows, per-feature nulls and expired, future timestamps') },
  },
  'POST /api/v1/features/online': {
    operationId: 'readOnlineFeatures',
    description:
      'Latest values of many entities from the online store. Each value has a status: PRESENT, EXPIRED (older than the group TTL at `at`, the same rule as training sets; value null) or NOT_FOUND, and the stored event time.',
    errors: ['CAPSTAN_FEATURES_NOT_FOUND', 'CAPSTAN_FEATURES_ONLINE_STORE_UNAVAILABLE'],
    requestExample: { features: ['txn:amount_sum'], entities: [{ customer_id: 'c1' }] },
    responses: { 200: json('OnlineReadResult: per entity, per feature ref: value, status, eventTime') },
  },
};
