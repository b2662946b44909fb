/**
 * The auth context's public surface: API keys (stored hashed, one role each), the roles routes
 * declare, the Fastify hook that checks keys, and the context module the platform installs.
 */
import { defineContext } from '../storage/context-module.js';
import { ApiKeyStore } from './api-key-store.js';
import { keyRoutes } from './key-routes.js';
import path from 'node:path';
import { SecretBox } from '../core/secret-box.js';
import { uniqueKeyNames } from './migrations/0005-unique-key-names.js';
import { sigv4Keys } from './migrations/0025-sigv4-keys.js';
import { consoleSessions } from './migrations/0034-console-sessions.js';

export { ApiKeyStore, type ApiKeyAdmin, type ApiKeyInfo, type CreateKeyOptions, type CreatedApiKey, type Principal, type SigV4Credentials } from './api-key-store.js';
export { isSigV4Request } from './sigv4-verifier.js';
export { actorOf, installAuth, presentedKey } from './auth-hook.js';
export { ConsoleSessions, CSRF_HEADER, SESSION_COOKIE, csrfMatches, readCookie, sessionCookie, type ConsoleSession, type ConsoleSessionOptions } from './console-sessions.js';
export { ROLES, isKeyless, parseRole, roleSatisfies, type Role, type RouteAccess } from './roles.js';
export { ApiKeyInfo as ApiKeyInfoSchema, CreatedKey as CreatedKeySchema } from './key-routes.js';

/** API keys: `platform.apiKeys`, the `/api/v1/keys` routes (its table is created by the foundation migration), and the console sessions' table. */
export const authContext = defineContext<ApiKeyStore>({
  name: 'auth',
  migrations: { '0005_unique_key_names': uniqueKeyNames, '0025_sigv4_keys': sigv4Keys, '0034_console_sessions': consoleSessions },
  create: ({ db, config }) => ({ service: new ApiKeyStore(db, new SecretBox({ secretKey: config.secretKey, keyFile: path.join(config.home, 'secret.key') })) }),
  routes: [keyRoutes],
});
