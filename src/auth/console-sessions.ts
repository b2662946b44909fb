import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/database.js';
import type { Principal } from './api-key-store.js';
import type { Role } from './roles.js';

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

interface SessionRow {
  id_hash: string;
  key_id: string;
  name: string;
  role: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

/** The columns of the auth context's key table a session lookup reads. */
interface KeyRow {
  id: string;
  revoked_at: number | null;
}

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');

/**
 * Console sessions in the metadata database: an API key is exchanged once for a session id the
 * browser keeps only as an HttpOnly cookie, so no key ever reaches page-readable storage, and every
 * API server of a deployment knows every session (sign-in on one, sign-out on another). Ids are
 * stored hashed; expired sessions are dropped as new ones open.
 */
export class ConsoleSessions {
  private readonly options: Required<ConsoleSessionOptions>;

  constructor(
    private readonly db: Database,
    options: ConsoleSessionOptions = {},
  ) {
    this.options = compileConsoleSessionOptions(options);
  }

  private get q(): Kysely<{ console_sessions: SessionRow; api_keys: KeyRow }> {
    return this.db.as<{ console_sessions: SessionRow; api_keys: KeyRow }>();
  }

  /** Opens a session for an authenticated key. */
  async create(principal: Principal, now = Date.now()): Promise<ConsoleSession> {
    await this.q.deleteFrom('console_sessions').where('expires_at', '<=', now).execute();
    const session = { id: randomBytes(32).toString('base64url'), principal, csrfToken: randomBytes(24).toString('base64url'), expiresAt: now + this.options.ttlMs };
    await this.q
      .insertInto('console_sessions')
      .values({ id_hash: hashId(session.id), key_id: principal.keyId, name: principal.name, role: principal.role, csrf_token: session.csrfToken, created_at: now, expires_at: session.expiresAt })
      .execute();
    return session;
  }

  /**
   * The live session with this id, or undefined when unknown, expired, signed out, or its API key is
   * revoked or gone: a session lives no longer than its key. One read per request, joined with the
   * key table of the same context.
   */
  async get(id: string | undefined, now = Date.now()): Promise<ConsoleSession | undefined> {
    if (!id || id.length > 100) return undefined;
    const row = await this.q
      .selectFrom('console_sessions')
      .innerJoin('api_keys', 'api_keys.id', 'console_sessions.key_id')
      .selectAll('console_sessions')
      .where('console_sessions.id_hash', '=', hashId(id))
      .where('api_keys.revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row || Number(row.expires_at) <= now) return undefined;
    return { id, principal: { keyId: row.key_id, name: row.name, role: row.role as Role }, csrfToken: row.csrf_token, expiresAt: Number(row.expires_at) };
  }

  /** Ends a session (sign-out). */
  async revoke(id: string): Promise<void> {
    await this.q.deleteFrom('console_sessions').where('id_hash', '=', hashId(id)).execute();
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
