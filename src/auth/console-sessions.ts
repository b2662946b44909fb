import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Principal } from './api-key-store.js';

/** The cookie carrying a console session id (HttpOnly, SameSite=Strict, Path=/). */
export const SESSION_COOKIE = 'capstan_session';

/** The header a console page sends its CSRF token in on every state-changing request. */
export const CSRF_HEADER = 'x-capstan-csrf';

/** One signed-in console session. */
export interface ConsoleSession {
  id: string;
  principal: Principal;
  /** Random per session; the page holds it in memory only and echoes it in `X-Capstan-CSRF`. */
  csrfToken: string;
  expiresAt: number;
}

/** Options for console sessions. */
export interface ConsoleSessionOptions {
  /** How long a session lives after sign-in, in ms; default 8 hours. */
  ttlMs?: number;
}

/** Fills and checks console session options. */
export function compileConsoleSessionOptions(options: ConsoleSessionOptions = {}): Required<ConsoleSessionOptions> {
  const ttlMs = options.ttlMs ?? 8 * 3600_000;
  if (!Number.isInteger(ttlMs) || ttlMs < 1000) throw new Error('console session ttlMs must be an integer of at least 1000');
  return { ttlMs };
}

/**
 * Console sessions, held in this server's memory: an API key is exchanged once for a session id the
 * browser keeps only as an HttpOnly cookie, so no key ever reaches page-readable storage. A restart signs
 * every console user out, which is the safe direction to fail.
 */
export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly options: Required<ConsoleSessionOptions>;

  constructor(options: ConsoleSessionOptions = {}) {
    this.options = compileConsoleSessionOptions(options);
  }

  /** Opens a session for an authenticated key. */
  create(principal: Principal, now = Date.now()): ConsoleSession {
    this.prune(now);
    const session = { id: randomBytes(32).toString('base64url'), principal, csrfToken: randomBytes(24).toString('base64url'), expiresAt: now + this.options.ttlMs };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, or undefined when unknown, expired or revoked. */
  get(id: string | undefined, now = Date.now()): ConsoleSession | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= now) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  /** Ends a session (sign-out). */
  revoke(id: string): void {
    this.sessions.delete(id);
  }

  /** Ends every session of a key, e.g. when the key is revoked. */
  revokeKey(keyId: string): void {
    for (const [id, s] of this.sessions) if (s.principal.keyId === keyId) this.sessions.delete(id);
  }

  private prune(now: number): void {
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}

/** Reads one cookie from a request's Cookie header. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** True when the request carries the session's CSRF token (compared in constant time). */
export function csrfMatches(request: FastifyRequest, session: ConsoleSession): boolean {
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The Set-Cookie value for a session id; `Secure` when the request came over HTTPS. */
export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}
