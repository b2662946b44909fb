/**
 * The auth context's public surface: API keys (stored hashed, one role each), the roles routes
 * declare, the Fastify hook that checks keys, and the context module the platform installs.
 */
import { defineContext } from '../storage/context-module.js';
import { ApiKeyStore } from './api-key-store.js';
import { keyRoutes } from './key-routes.js';
import { uniqueKeyNames } from './migrations/0005-unique-key-names.js';

export { ApiKeyStore, type ApiKeyAdmin, type ApiKeyInfo, type CreatedApiKey, type Principal } from './api-key-store.js';
export { actorOf, installAuth, presentedKey } from './auth-hook.js';
export { ConsoleSessions, CSRF_HEADER, SESSION_COOKIE, csrfMatches, readCookie, sessionCookie, type ConsoleSession, type ConsoleSessionOptions } from './console-sessions.js';
export { ROLES, isKeyless, parseRole, roleSatisfies, type Role, type RouteAccess } from './roles.js';
export { ApiKeyInfo as ApiKeyInfoSchema, CreatedKey as CreatedKeySchema } from './key-routes.js';

/** API keys: `platform.apiKeys`, the `/api/v1/keys` routes; its table is created by the foundation migration. */
export const authContext = defineContext<ApiKeyStore>({
  name: 'auth',
  migrations: { '0005_unique_key_names': uniqueKeyNames },
  create: ({ db }) => ({ service: new ApiKeyStore(db) }),
  routes: [keyRoutes],
});
