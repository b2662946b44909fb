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
  accessKeyId: Type.Optional(Type.String({ description: 'The AWS SigV4 access key id, for keys created with `sigv4`' })),
});

/** A newly created key with its secret, shown once. */
export const CreatedKey = Type.Object({
  key: Type.String({ description: 'The secret; shown once, stored only as a hash' }),
  info: ApiKeyInfo,
  accessKeyId: Type.Optional(Type.String({ description: 'With `sigv4`: the AWS access key id' })),
  secretAccessKey: Type.Optional(Type.String({ description: 'With `sigv4`: the AWS secret access key; shown once' })),
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
        body: Type.Object(
          {
            name: Type.String(),
            role: Type.String({ description: ROLES.join(' | ') }),
            sigv4: Type.Optional(Type.Boolean({ description: 'Also issue an AWS SigV4 access-key pair, for SageMaker Runtime clients (default false)' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: CreatedKey },
      },
    },
    async (request, reply) => {
      const { name, role, sigv4 } = request.body as { name: string; role: string; sigv4?: boolean };
      const created = await keys.create(name, role, { sigv4 });
      logger.info({ keyId: created.info.id, name, role: created.info.role, accessKeyId: created.accessKeyId, actor: actorOf(request) }, 'API key created');
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
