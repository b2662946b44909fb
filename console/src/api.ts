// The console's only way to the server: same-origin fetch with the session cookie, and the CSRF token
// (held in memory, never in browser storage) on every state-changing call.

/** The signed-in user as the server reports it. */
export interface Session {
  authEnabled: boolean;
  signedIn: boolean;
  name?: string;
  role?: string;
  csrfToken?: string | null;
}

/** A problem+json answer turned into an exception. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
let onSignedOut: () => void = () => {};

/** Remembers the CSRF token of the current session (memory only). */
export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token ?? null;
}

/** What to do when the server says the session is gone. */
export function setSignedOutHandler(handler: () => void): void {
  onSignedOut = handler;
}

/** Calls the API and parses JSON; throws ApiError with the problem's code on failure. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-capstan-csrf'] = csrfToken;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 204) return undefined as T;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const code = String((data as { code?: string }).code ?? 'HTTP_' + res.status);
    if (res.status === 401 && !path.endsWith('/console/session')) onSignedOut();
    throw new ApiError(res.status, code, String((data as { detail?: string }).detail ?? res.statusText));
  }
  return data as T;
}

const GRANTS: Record<string, string[]> = {
  admin: ['admin', 'editor', 'approver', 'invoker', 'viewer'],
  editor: ['editor', 'viewer', 'invoker'],
  approver: ['approver', 'viewer'],
  invoker: ['invoker'],
  viewer: ['viewer'],
};

/** True when the session's role may do what `need` requires (mirrors the server's rule; the server still decides). */
export function can(session: Session | null, need: string): boolean {
  return !!session?.role && (GRANTS[session.role] ?? []).includes(need);
}

/** A raw call through the session (CSRF header on POST), for answers that need not be JSON: status, headers and text. */
export async function rawCall(method: string, path: string, body: string, headers: Record<string, string>): Promise<{ status: number; headers: Headers; text: string }> {
  const h: Record<string, string> = { ...headers };
  if (method !== 'GET' && csrfToken) h['x-capstan-csrf'] = csrfToken;
  const res = await fetch(path, { method, headers: h, credentials: 'same-origin', body: method === 'GET' ? undefined : body });
  if (res.status === 401) onSignedOut();
  return { status: res.status, headers: res.headers, text: await res.text() };
}
