import { CapstanError, errorCatalogue, type ErrorCode } from '../core/errors.js';

/** Options for the HTTP client; `baseUrl` is required. */
export interface HttpClientOptions {
  /** The server's base URL (`http://127.0.0.1:7070`). */
  baseUrl: string;
  /** API key sent as a bearer token; default none. */
  apiKey?: string;
  /** Request timeout in ms; default 60000. */
  timeoutMs?: number;
}

/** One request's options. */
export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
}

/**
 * The transport under every typed client in `src/sdk/`: JSON in and out, and problem+json errors
 * turned back into CapstanErrors with the server's code and detail, so callers handle local and
 * remote failures the same way.
 */
export class HttpClient {
  readonly baseUrl: string;
  private readonly apiKey?: string;
  private readonly timeoutMs: number;

  constructor(options: HttpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** Sends a request and returns the parsed JSON body (undefined for 204). */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, options);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    const parsed = text ? safeJson(text) : undefined;
    if (!res.ok) throw problemToError(res.status, parsed, text);
    return parsed as T;
  }

  /** Sends a request and returns the body as text with the response headers (invocations need both). */
  async requestText(method: string, path: string, options: RequestOptions = {}): Promise<{ status: number; headers: Headers; text: string }> {
    const res = await this.send(method, path, options);
    const text = await res.text();
    if (!res.ok) throw problemToError(res.status, text ? safeJson(text) : undefined, text);
    return { status: res.status, headers: res.headers, text };
  }

  /**
   * Sends raw bytes (or no body) and returns the response for the caller to stream; a non-2xx answer
   * throws the server's CapstanError. Artifact uploads and downloads use it.
   */
  async requestRaw(method: string, path: string, body?: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Promise<Response> {
    const all: Record<string, string> = { ...headers };
    if (this.apiKey) all.authorization = `Bearer ${this.apiKey}`;
    if (body !== undefined) all['content-type'] ??= 'application/octet-stream';
    let res: Response;
    try {
      // A stream body needs half-duplex mode in Node's fetch.
      res = await fetch(new URL(this.baseUrl + path), { method, headers: all, body, duplex: 'half', signal: AbortSignal.timeout(this.timeoutMs) } as RequestInit);
    } catch (err) {
      throw new CapstanError('CAPSTAN_INTERNAL', `cannot reach ${this.baseUrl}: ${(err as Error).message}`, { cause: err });
    }
    if (!res.ok) {
      const text = await res.text();
      throw problemToError(res.status, text ? safeJson(text) : undefined, text);
    }
    return res;
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    try {
      return await fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new CapstanError('CAPSTAN_INTERNAL', `cannot reach ${this.baseUrl}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Rebuilds a CapstanError from a problem+json body (or a bare status). */
export function problemToError(status: number, body: unknown, text = ''): CapstanError {
  const p = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const code = typeof p.code === 'string' && p.code in errorCatalogue ? (p.code as ErrorCode) : status === 404 ? 'CAPSTAN_ROUTE_NOT_FOUND' : 'CAPSTAN_INTERNAL';
  const detail = typeof p.detail === 'string' ? p.detail : text.slice(0, 200) || `HTTP ${status}`;
  const { type: _t, title: _ti, status: _s, detail: _d, code: _c, instance: _i, ...fields } = p;
  return new CapstanError(code, detail, { fields });
}
