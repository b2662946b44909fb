import { Type } from 'typebox';
import { assertVersionNumber } from '../model-ref.js';
import { AUDIT_ACTIONS, type ApprovalStatus, type AuditLogFilter, type RegistryEventType, type RegistryService, type RegisterVersionInput } from '../registry-service.js';
import { actorOf } from '../../auth/index.js';
import type { ContextRoutes } from '../../storage/context-module.js';
import {
  ApprovalStatusSchema,
  ArtifactFileSchema,
  AuditEventSchema,
  AuditPageSchema,
  ComparisonSchema,
  LineageSchema,
  ModelGroupSchema,
  ModelVersionSchema,
  NameParams,
  RegistryEventSchema,
  ScalarMap,
  VersionParams,
  WebhookSchema,
  splitList,
} from './registry-schemas.js';

type NameP = { name: string };
type VersionP = { name: string; version: string };

const GroupBody = Type.Object({
  name: Type.String({ maxLength: 200 }),
  description: Type.Optional(Type.String({ maxLength: 5000 })),
  tags: Type.Optional(Type.Record(Type.String(), Type.String())),
});

const RegisterBody = Type.Object({
  artifactUri: Type.String({ minLength: 1, maxLength: 2000, description: 'URI of a model package already in the artifact store (upload with PUT /api/v1/artifacts/uploads/…)' }),
  metrics: Type.Optional(Type.Record(Type.String(), Type.Number())),
  params: Type.Optional(ScalarMap),
  tags: Type.Optional(Type.Record(Type.String(), Type.String())),
  description: Type.Optional(Type.String({ maxLength: 5000 })),
  lineage: Type.Optional(LineageSchema),
});

/** Model groups, versions, approval, aliases, history, comparison and webhooks: `/api/v1/models`, `/api/v1/webhooks`. */
export const registryRoutes: ContextRoutes<RegistryService> = async (app, { service: registry }) => {
  const tags = ['registry'];
  const version = (p: VersionP) => assertVersionNumber(p.name, p.version);

  app.get('/api/v1/models', { config: { access: 'viewer' }, schema: { tags, summary: 'List model groups', response: { 200: Type.Array(ModelGroupSchema) } } }, async () =>
    registry.listModels(),
  );

  app.post(
    '/api/v1/models',
    { config: { access: 'editor' }, schema: { tags, summary: 'Create an empty model group', body: GroupBody, response: { 201: ModelGroupSchema } } },
    async (request, reply) => {
      const body = request.body as { name: string; description?: string; tags?: Record<string, string> };
      reply.code(201);
      return registry.createModel(body.name, { description: body.description, tags: body.tags });
    },
  );

  app.get('/api/v1/model-refs', {
    config: { access: 'viewer' },
    schema: { tags, summary: 'Resolve models:/name@alias, models:/name/3, name@alias or name/3 to a version', querystring: Type.Object({ ref: Type.String({ maxLength: 300 }) }), response: { 200: ModelVersionSchema } },
  }, async (request) => registry.resolve((request.query as { ref: string }).ref));

  app.get(
    '/api/v1/models/:name',
    { config: { access: 'viewer' }, schema: { tags, summary: 'Show a model group', params: NameParams, response: { 200: ModelGroupSchema } } },
    async (request) => registry.getModel((request.params as NameP).name),
  );

  app.patch(
    '/api/v1/models/:name',
    {
      config: { access: 'editor' },
      schema: { tags, summary: 'Change description or tags', params: NameParams, body: Type.Omit(GroupBody, ['name']), response: { 200: ModelGroupSchema } },
    },
    async (request) => registry.updateModel((request.params as NameP).name, request.body as { description?: string; tags?: Record<string, string> }),
  );

  app.put(
    '/api/v1/models/:name/approval-policy',
    {
      config: { access: 'approver' },
      schema: {
        tags,
        summary: 'Set or clear (null) the auto-approval policy (a CEL condition over metrics, params, tags)',
        params: NameParams,
        body: Type.Union([Type.Object({ autoApprove: Type.String({ maxLength: 2000 }) }), Type.Null()]),
        response: { 200: ModelGroupSchema },
      },
    },
    async (request) => registry.setApprovalPolicy((request.params as NameP).name, request.body as { autoApprove: string } | null, { actor: actorOf(request) }),
  );

  app.get(
    '/api/v1/models/:name/versions',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'List versions, oldest first', params: NameParams, querystring: Type.Object({ approval: Type.Optional(ApprovalStatusSchema) }), response: { 200: Type.Array(ModelVersionSchema) } },
    },
    async (request) => registry.listVersions((request.params as NameP).name, { approval: (request.query as { approval?: ApprovalStatus }).approval }),
  );

  app.post(
    '/api/v1/models/:name/versions',
    {
      config: { access: 'editor' },
      schema: { tags, summary: 'Register the next version from a model package in the artifact store', params: NameParams, body: RegisterBody, response: { 201: ModelVersionSchema } },
    },
    async (request, reply) => {
      // Only a store URI is accepted over HTTP: a `packageDir` would read the server's own file system.
      const { artifactUri, metrics, params, tags: versionTags, description, lineage } = request.body as RegisterVersionInput;
      const input: RegisterVersionInput = { artifactUri, metrics, params, tags: versionTags, description, lineage };
      const created = await registry.registerVersion((request.params as NameP).name, input, { actor: actorOf(request) });
      reply.code(201);
      return created;
    },
  );

  app.get(
    '/api/v1/models/:name/versions/:version',
    { config: { access: 'viewer' }, schema: { tags, summary: 'Show a version', params: VersionParams, response: { 200: ModelVersionSchema } } },
    async (request) => registry.getVersion((request.params as VersionP).name, version(request.params as VersionP)),
  );

  app.get(
    '/api/v1/models/:name/versions/:version/files',
    { config: { access: 'viewer' }, schema: { tags, summary: "List a version's package files", params: VersionParams, response: { 200: Type.Array(ArtifactFileSchema) } } },
    async (request) => registry.listVersionFiles((request.params as VersionP).name, version(request.params as VersionP)),
  );

  app.put(
    '/api/v1/models/:name/versions/:version/approval',
    {
      config: { access: 'approver' },
      schema: {
        tags,
        summary: 'Approve, reject or return a version to pending (recorded in the history)',
        params: VersionParams,
        body: Type.Object({ status: ApprovalStatusSchema, comment: Type.Optional(Type.String({ maxLength: 2000 })) }),
        response: { 200: ModelVersionSchema },
      },
    },
    async (request) => {
      const p = request.params as VersionP;
      return registry.setApproval(p.name, version(p), request.body as { status: ApprovalStatus; comment?: string }, { actor: actorOf(request) });
    },
  );

  const AliasParams = Type.Object({ name: Type.String({ maxLength: 200 }), alias: Type.String({ maxLength: 200 }) });
  type AliasP = { name: string; alias: string };

  app.get(
    '/api/v1/models/:name/aliases/:alias',
    { config: { access: 'viewer' }, schema: { tags, summary: 'The version an alias points to', params: AliasParams, response: { 200: ModelVersionSchema } } },
    async (request) => {
      const p = request.params as AliasP;
      return registry.resolve(`${p.name}@${p.alias}`);
    },
  );

  app.put(
    '/api/v1/models/:name/aliases/:alias',
    {
      config: { access: 'editor' },
      schema: { tags, summary: 'Point an alias at a version (create or move)', params: AliasParams, body: Type.Object({ version: Type.Integer({ minimum: 1 }) }), response: { 200: ModelGroupSchema } },
    },
    async (request) => {
      const p = request.params as AliasP;
      return registry.setAlias(p.name, p.alias, (request.body as { version: number }).version, { actor: actorOf(request) });
    },
  );

  app.delete(
    '/api/v1/models/:name/aliases/:alias',
    { config: { access: 'editor' }, schema: { tags, summary: 'Remove an alias', params: AliasParams, response: { 200: ModelGroupSchema } } },
    async (request) => {
      const p = request.params as AliasP;
      return registry.deleteAlias(p.name, p.alias, { actor: actorOf(request) });
    },
  );

  app.get(
    '/api/v1/audit',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: "Every model's audit events (approvals, aliases, versions, policy), newest first, paged with a cursor",
        querystring: Type.Object({
          model: Type.Optional(Type.String({ maxLength: 200 })),
          actor: Type.Optional(Type.String({ maxLength: 200 })),
          action: Type.Optional(Type.Union(AUDIT_ACTIONS.map((a) => Type.Literal(a)))),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
        }),
        response: { 200: AuditPageSchema },
      },
    },
    async (request) => registry.auditLog(request.query as AuditLogFilter),
  );

  app.get(
    '/api/v1/models/:name/history',
    {
      config: { access: 'viewer' },
      schema: { tags, summary: 'Audit history (approvals, aliases, policy), oldest first', params: NameParams, querystring: Type.Object({ version: Type.Optional(Type.String({ maxLength: 20 })) }), response: { 200: Type.Array(AuditEventSchema) } },
    },
    async (request) => {
      const { name } = request.params as NameP;
      const v = (request.query as { version?: string }).version;
      return registry.history(name, { version: v === undefined ? undefined : assertVersionNumber(name, v) });
    },
  );

  app.get(
    '/api/v1/models/:name/compare',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Compare metrics and params across versions',
        params: NameParams,
        querystring: Type.Object({
          versions: Type.Optional(Type.String({ maxLength: 1000, description: 'Comma-separated, e.g. 1,2,3; default all' })),
          metrics: Type.Optional(Type.String({ maxLength: 2000, description: 'Comma-separated, e.g. hr@10,ndcg@10; default all' })),
          params: Type.Optional(Type.String({ maxLength: 2000 })),
        }),
        response: { 200: ComparisonSchema },
      },
    },
    async (request) => {
      const { name } = request.params as NameP;
      const q = request.query as { versions?: string; metrics?: string; params?: string };
      return registry.compareVersions(name, { versions: splitList(q.versions)?.map((v) => assertVersionNumber(name, v)), metrics: splitList(q.metrics), params: splitList(q.params) });
    },
  );

  const webhookTags = ['webhooks'];
  app.get('/api/v1/webhooks', { config: { access: 'admin' }, schema: { tags: webhookTags, summary: 'List webhooks', response: { 200: Type.Array(WebhookSchema) } } }, async () =>
    registry.listWebhooks(),
  );

  app.post(
    '/api/v1/webhooks',
    {
      config: { access: 'admin' },
      schema: {
        tags: webhookTags,
        summary: 'Subscribe a URL to registry events (HMAC-signed, delivered through the queue with retries)',
        body: Type.Object({
          url: Type.String({ maxLength: 2000 }),
          events: Type.Optional(Type.Array(RegistryEventSchema, { maxItems: 10 })),
          models: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100 })),
          description: Type.Optional(Type.String({ maxLength: 500 })),
          secret: Type.Optional(Type.String({ minLength: 16, maxLength: 200, description: 'Signing secret, `whsec_<base64 of 24-64 bytes>` (Standard Webhooks); default: a new random one' })),
        }),
        response: { 201: WebhookSchema },
      },
    },
    async (request, reply) => {
      const created = await registry.createWebhook(request.body as { url: string; events?: RegistryEventType[] }, { actor: actorOf(request) });
      reply.code(201);
      return created;
    },
  );

  app.delete(
    '/api/v1/webhooks/:id',
    { config: { access: 'admin' }, schema: { tags: webhookTags, summary: 'Remove a webhook', params: Type.Object({ id: Type.String({ maxLength: 100 }) }) } },
    async (request, reply) => {
      await registry.deleteWebhook((request.params as { id: string }).id);
      return reply.code(204).send();
    },
  );
};
