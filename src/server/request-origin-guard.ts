import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BoundedMemo } from '../core/bounded-memo.js';
import { CapstanError } from '../core/errors.js';
import type { RouteAccess } from '../auth/index.js';

/** True for addresses only this machine can reach: `localhost`, 127.0.0.0/8, `::1` and their mapped forms. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h) || /^(0{1,4}:){7}0{0,3}1$/.test(h);
  return false;
}

/** Options for the Host and Origin checks; defaults mirror `config.server`. */
export interface OriginGuardOptions {
  /** The address the server binds; a loopback bind accepts only loopback Host names (plus `allowedHosts`). */
  bindHost: string;
  /** Extra `host` or `host:port` values the Host header may carry; default none. With a non-loopback bind, setting any turns the Host check on. */
  allowedHosts: string[];
  /** Origins (`https://app.example.com`) whose pages may send state-changing requests; default none. */
  allowedOrigins: string[];
}

/** Splits a Host header (`name`, `name:port`, `[v6]:port`) into a lower-case name and an optional port. */
export function splitHost(value: string): { name: string; port?: string } | undefined {
  const v = value.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(v);
  if (!m) return undefined;
  return { name: m[1].replace(/\.$/, ''), port: m[2] };
}

function hostAllowed(host: { name: string; port?: string }, options: OriginGuardOptions, loopbackBind: boolean): boolean {
  for (const entry of options.allowedHosts) {
    const allowed = splitHost(entry);
    if (allowed && allowed.name === host.name && (allowed.port === undefined || allowed.port === host.port)) return true;
  }
  // A DNS-rebinding page reaches a loopback server under its own name; only loopback names are this server.
  if (loopbackBind) return host.name === 'localhost' || isLoopbackHost(host.name);
  return options.allowedHosts.length === 0 || isLoopbackHost(host.name);
}

/** Normalises an origin (`HTTPS://App.example.com:443` → `https://app.example.com`), or undefined when it is not one. */
export function normaliseOrigin(value: string): string | undefined {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Refuses requests a web page could make on a visitor's behalf: a Host header that does not name this
 * server (`421 CAPSTAN_REQUEST_HOST_NOT_ALLOWED`, against DNS rebinding) and a state-changing request
 * that a browser marks as cross-site (`403 CAPSTAN_REQUEST_CROSS_ORIGIN`, against cross-site request
 * forgery). Clients that send neither `Origin` nor `Sec-Fetch-Site` (the CLI, SDKs, webhook senders,
 * SageMaker-style invokers) pass the Origin check. Runs before auth, so it holds with auth on and off.
 */
export function installOriginGuard(app: FastifyInstance, options: OriginGuardOptions): void {
  const loopbackBind = isLoopbackHost(options.bindHost);
  const allowedOrigins = new Set(options.allowedOrigins.map((o) => normaliseOrigin(o) ?? o));
  // A client sends the same Host on every request; parsing it each time was a share of the gateway's per-request garbage.
  const hostVerdicts = new BoundedMemo<string, boolean>(256);
  const allowed = (rawHost: string) => {
    const host = splitHost(rawHost);
    return host !== undefined && hostAllowed(host, options, loopbackBind);
  };
  const check = (request: FastifyRequest): void => {
    const access = request.routeOptions.config?.access as RouteAccess | undefined;
    // Health checks and the API description carry no data and change nothing; probes address them by pod IP.
    if (access === 'public') return;
    const rawHost = header(request, 'host');
    if (rawHost !== undefined) {
      if (!hostVerdicts.get(rawHost, allowed)) {
        throw new CapstanError('CAPSTAN_REQUEST_HOST_NOT_ALLOWED', `the Host header ${JSON.stringify(rawHost.slice(0, 100))} does not name this server; add it to server.allowedHosts (CAPSTAN_ALLOWED_HOSTS) if it should`, { fields: { host: rawHost.slice(0, 100) } });
      }
    }
    if (SAFE_METHODS.has(request.method)) return;
    const origin = header(request, 'origin');
    if (origin !== undefined) {
      const o = normaliseOrigin(origin);
      // Same-origin pages (Swagger UI at /docs) name the Host they were served from, which passed the check above.
      const sameOrigin = o !== undefined && rawHost !== undefined && (o === normaliseOrigin(`http://${rawHost}`) || o === normaliseOrigin(`https://${rawHost}`));
      if (sameOrigin || (o !== undefined && allowedOrigins.has(o))) return;
      throw new CapstanError('CAPSTAN_REQUEST_CROSS_ORIGIN', `a page from ${JSON.stringify(origin.slice(0, 100))} may not change state here; add the origin to server.allowedOrigins (CAPSTAN_ALLOWED_ORIGINS) if it should`, { fields: { origin: origin.slice(0, 100) } });
    }
    const site = header(request, 'sec-fetch-site');
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw new CapstanError('CAPSTAN_REQUEST_CROSS_ORIGIN', `a ${site} request may not change state here`, { fields: { secFetchSite: site } });
    }
  };
  // A callback hook (a throw is Fastify's error path): an async one costs a promise and a tick on every request.
  app.addHook('onRequest', (request, _reply, done) => {
    check(request);
    done();
  });
}
