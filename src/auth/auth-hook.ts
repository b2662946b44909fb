import type { FastifyInstance, FastifyRequest, preValidationHookHandler } from 'fastify';
import { CapstanError } from '../core/errors.js';
import type { ApiKeyStore, Principal, SigV4Credentials } from './api-key-store.js';
import { csrfMatches, readCookie, SESSION_COOKIE, type ConsoleSessions } from './console-sessions.js';
import { KeyCache } from './key-cache.js';
import { isKeyless, roleSatisfies, type Role, type RouteAccess } from './roles.js';
import { checkSigV4, isSigV4Request, parseSigV4, unknownKey, type ParsedSigV4 } from './sigv4-verifier.js';

/**
 * How long a process reuses a key it verified (a bearer key's owner, a SigV4 pair's owner and secret)
 * before reading it again: a revocation made in another process takes effect within this time, one
 * made in this process at once.
 */
export const KEY_CACHE_MS = 5_000;
/** At most this many verified keys are kept per process (the cache starts over past it). */
const KEY_CACHE_SIZE = 10_000;

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated key, when auth is on and the route is not public. */
    principal?: Principal;
  }
}

/** The bytes a signature covers: the raw body the invocation routes keep (text elsewhere; none is empty). */
function signedBody(body: unknown): Buffer | string {
  return Buffer.isBuffer(body) || typeof body === 'string' ? body : '';
}

// Marks the config of a route whose preValidation verifies SigV4 signatures (set when the route is added).
const SIGV4_VERIFIED = Symbol('sigv4Verified');

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Reads a key from `Authorization: Bearer …` or `X-Capstan-Api-Key`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  const header = request.headers['x-capstan-api-key'];
  return typeof header === 'string' ? header.trim() : undefined;
}

function checkRole(principal: Principal, access: RouteAccess | undefined): void {
  // Unmatched routes (404s) carry no access: any valid key may learn that a route does not exist.
  if (access && !roleSatisfies(principal.role, access as Role)) {
    throw new CapstanError('CAPSTAN_AUTH_FORBIDDEN', `this action needs role ${access}; the key has role ${principal.role}`, { fields: { requiredRole: access, role: principal.role } });
  }
}

/**
 * When auth is on, every non-public route needs a valid key whose role satisfies the route's access.
 * Routes declaring `config.sigv4: true` also take AWS SigV4 signatures from keys created with `--sigv4`;
 * those are verified once the body is read (the signature covers it), before anything runs.
 */
export function installAuth(app: FastifyInstance, keys: ApiKeyStore, enabled: boolean, sessions?: ConsoleSessions): void {
  if (!enabled) return;
  // Declared, so setting it keeps every request object one shape.
  app.decorateRequest('principal', undefined);
  // touch() writes at most once a minute per key anyway; skipping the query here keeps authenticated requests read-only.
  const touched = new Map<string, number>();
  // A key lookup (and for a pair, unsealing its secret) per request cost more than half the throughput
  // of a cheap model: a key verified here is reused for KEY_CACHE_MS, and a revocation through this
  // process's store drops every cached key at once. A cached key answers without a promise.
  const pairs = new KeyCache<SigV4Credentials>(KEY_CACHE_MS, KEY_CACHE_SIZE);
  const bearers = new KeyCache<Principal>(KEY_CACHE_MS, KEY_CACHE_SIZE);
  keys.onRevoke(() => {
    pairs.clear();
    bearers.clear();
  });
  const lookup = async (accessKeyId: string, now: number) => {
    const credentials = await keys.sigv4Credentials(accessKeyId);
    if (credentials) pairs.set(accessKeyId, credentials, now);
    return credentials;
  };
  const touch = (keyId: string, now: number) => {
    if ((touched.get(keyId) ?? 0) > now - 60_000) return;
    touched.set(keyId, now);
    void keys.touch(keyId).catch(() => {});
  };
  // Every way in (bearer key, console session, SigV4 pair) ends here once the key is known.
  const admit = (request: FastifyRequest, access: RouteAccess | undefined, principal: Principal, now: number) => {
    checkRole(principal, access);
    request.principal = principal;
    touch(principal.keyId, now);
  };
  const verified = (request: FastifyRequest, access: RouteAccess | undefined, parsed: ParsedSigV4, credentials: SigV4Credentials, now: number) => {
    admit(request, access, checkSigV4({ method: request.method, url: request.raw.url ?? request.url, headers: request.headers, body: signedBody(request.body) }, parsed, credentials), now);
  };
  // Signed requests are verified by a hook of the routes that take them, which knows the route's
  // access: no other route pays for it, and no per-request state passes between hooks.
  const sigv4Hook = (access: RouteAccess | undefined): preValidationHookHandler => (request, _reply, done) => {
    // onRequest let a SigV4 header through to this route without a principal: it must verify here.
    if (!isSigV4Request(request.headers)) return done();
    let parsed: ParsedSigV4;
    let credentials: SigV4Credentials | undefined;
    const now = Date.now();
    try {
      parsed = parseSigV4(request.headers, now);
      credentials = pairs.get(parsed.accessKeyId, now);
      if (credentials) verified(request, access, parsed, credentials, now);
    } catch (err) {
      return done(err as Error);
    }
    if (credentials) return done();
    lookup(parsed.accessKeyId, now).then(
      (found) => {
        try {
          if (!found) throw unknownKey(parsed.accessKeyId);
          verified(request, access, parsed, found, Date.now());
          done();
        } catch (err) {
          done(err as Error);
        }
      },
      (err: Error) => done(err),
    );
  };
  app.addHook('onRoute', (route) => {
    const config = route.config as { access?: RouteAccess; sigv4?: boolean } | undefined;
    if (config?.sigv4 !== true || isKeyless(config.access)) return;
    const own = route.preValidation;
    route.preValidation = [...(Array.isArray(own) ? own : own ? [own] : []), sigv4Hook(config.access)];
    route.config = { ...config, [SIGV4_VERIFIED]: true } as typeof route.config;
  });
  const authenticate = async (request: FastifyRequest, access: RouteAccess | undefined, secret: string | undefined) => {
    const sessionId = secret ? undefined : readCookie(request, SESSION_COOKIE);
    let principal: Principal | undefined;
    if (sessionId !== undefined && sessions) {
      const session = await sessions.get(sessionId);
      if (!session) {
        await sessions.revoke(sessionId);
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
      bearers.set(secret, principal, Date.now());
    }
    admit(request, access, principal, Date.now());
  };
  // A callback hook, so public routes, signed requests (checked in preValidation) and cached bearer keys go on without a promise.
  app.addHook('onRequest', (request, _reply, done) => {
    const config = request.routeOptions.config as { access?: RouteAccess; [SIGV4_VERIFIED]?: true } | undefined;
    const access = config?.access;
    if (isKeyless(access)) return done();
    if (isSigV4Request(request.headers)) {
      // Only a route that carries the verifying hook lets a signature through unchecked here.
      if (config?.[SIGV4_VERIFIED] !== true) {
        throw new CapstanError('CAPSTAN_AUTH_SIGV4_UNSUPPORTED', 'only POST /endpoints/{name}/invocations accepts AWS SigV4 signatures; send an API key as "Authorization: Bearer <key>"');
      }
      return done();
    }
    const secret = presentedKey(request);
    const now = Date.now();
    const known = secret ? bearers.get(secret, now) : undefined;
    if (known) {
      try {
        admit(request, access, known, now);
      } catch (err) {
        return done(err as Error);
      }
      return done();
    }
    authenticate(request, access, secret).then(() => done(), done);
  });
}

/** Who made a request, for audit records: the key's name, or `anonymous` when auth is off. */
export function actorOf(request: FastifyRequest): string {
  return request.principal ? `key:${request.principal.name}` : 'anonymous';
}
