import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CapstanError } from '../core/errors.js';
import type { ApiKeyStore, Principal } from './api-key-store.js';
import { isKeyless, roleSatisfies, type RouteAccess } from './roles.js';
import { csrfMatches, readCookie, SESSION_COOKIE, type ConsoleSessions } from './console-sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated key, when auth is on and the route is not public. */
    principal?: Principal;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Reads a key from `Authorization: Bearer …` or `X-Capstan-Api-Key`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  const header = request.headers['x-capstan-api-key'];
  return typeof header === 'string' ? header.trim() : undefined;
}

/** When auth is on, every non-public route needs a valid key whose role satisfies the route's access. */
export function installAuth(app: FastifyInstance, keys: ApiKeyStore, enabled: boolean, sessions?: ConsoleSessions): void {
  if (!enabled) return;
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config?.access as RouteAccess | undefined;
    if (isKeyless(access)) return;
    const secret = presentedKey(request);
    const sessionId = secret ? undefined : readCookie(request, SESSION_COOKIE);
    let principal: Principal | undefined;
    if (sessionId !== undefined && sessions) {
      const session = sessions.get(sessionId);
      if (!session || !(await keys.isActive(session.principal.keyId))) {
        sessions.revoke(sessionId);
        throw new CapstanError('CAPSTAN_CONSOLE_SESSION_INVALID', 'the console session expired, was signed out or its API key was revoked; sign in again');
      }
      // A cookie rides along on any request the browser makes; only the page that holds the token may change state.
      if (!SAFE_METHODS.has(request.method) && !csrfMatches(request, session)) {
        throw new CapstanError('CAPSTAN_CONSOLE_CSRF_REQUIRED', 'send the session\'s CSRF token in the X-Capstan-CSRF header');
      }
      principal = session.principal;
    } else {
      if (!secret) throw new CapstanError('CAPSTAN_AUTH_REQUIRED', 'send an API key as "Authorization: Bearer <key>"', { headers: { 'WWW-Authenticate': 'Bearer' } });
      principal = await keys.authenticate(secret);
      if (!principal) throw new CapstanError('CAPSTAN_AUTH_INVALID_KEY', undefined, { headers: { 'WWW-Authenticate': 'Bearer' } });
    }
    // Unmatched routes (404s) carry no access: any valid key may learn that a route does not exist.
    if (access && !roleSatisfies(principal.role, access)) {
      throw new CapstanError('CAPSTAN_AUTH_FORBIDDEN', `this action needs role ${access}; the key has role ${principal.role}`, { fields: { requiredRole: access, role: principal.role } });
    }
    request.principal = principal;
    void keys.touch(principal.keyId).catch(() => {});
  });
}

/** Who made a request, for audit records: the key's name, or `anonymous` when auth is off. */
export function actorOf(request: FastifyRequest): string {
  return request.principal ? `key:${request.principal.name}` : 'anonymous';
}
