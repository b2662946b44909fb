import { Type } from 'typebox';
import { actorOf } from './auth-hook.js';
import { ROLES } from './roles.js';
import type { ContextRoutes } from '../storage/context-module.js';
import type { ApiKeyStore } from './api-key-store.js';

/** An API key as listed: never its secret. */
export const ApiKeyInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.Union(ROLES.map((r) => Type.Literal(r))),
  prefix: Type.String({ description: 'First characters of the key, to recognise it' }),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

/** A newly created key with its secret, shown once. */
export const CreatedKey = Type.Object({
  key: Type.String({ description: 'The secret; shown once, stored only as a hash' }),
  info: ApiKeyInfo,
});

/** API key administration under `/api/v1/keys`; admin only. */
export const keyRoutes: ContextRoutes<ApiKeyStore> = async (app, { service: keys, logger }) => {
  app.get(
    '/api/v1/keys',
    { config: { access: 'admin' }, schema: { tags: ['keys'], summary: 'List API keys (never their secrets)', response: { 200: Type.Object({ items: Type.Array(ApiKeyInfo) }) } } },
    async () => ({ items: await keys.list() }),
  );
  app.post(
    '/api/v1/keys',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['keys'],
        summary: 'Create an API key; the secret is in this response only',
        body: Type.Object({ name: Type.String(), role: Type.String({ description: ROLES.join(' | ') }) }, { additionalProperties: false }),
        response: { 201: CreatedKey },
      },
    },
    async (request, reply) => {
      const { name, role } = request.body as { name: string; role: string };
      const created = await keys.create(name, role);
      logger.info({ keyId: created.info.id, name, role: created.info.role, actor: actorOf(request) }, 'API key created');
      return reply.code(201).send(created);
    },
  );
  app.delete(
    '/api/v1/keys/:key',
    {
      config: { access: 'admin' },
      schema: { tags: ['keys'], summary: 'Revoke an API key by id or name', params: Type.Object({ key: Type.String() }), response: { 200: ApiKeyInfo } },
    },
    async (request) => {
      const { key } = request.params as { key: string };
      const info = await keys.revoke(key);
      logger.info({ keyId: info.id, actor: actorOf(request) }, 'API key revoked');
      return info;
    },
  );
};
