import type { FastifyInstance, RouteOptions } from 'fastify';
import type { RouteAccess } from '../auth/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The role a route needs, or `public`. Every route must declare it; registration fails otherwise. */
    access?: RouteAccess;
  }
}

/** Every registered route with the access it declares, for the auth test and `capstan routes`. */
export interface RouteRecord {
  method: string;
  url: string;
  access: RouteAccess;
}

/**
 * Refuses to register a route that declares no access, so a new route can never be open by accident;
 * records each one so a test can enumerate them.
 */
export function enforceRouteAccess(app: FastifyInstance, routes: RouteRecord[]): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    let access = (route.config as { access?: RouteAccess } | undefined)?.access;
    // @fastify/swagger-ui registers its static routes itself; they serve documentation only.
    if (!access && (route.url === '/docs' || route.url.startsWith('/docs/'))) {
      access = 'public';
      route.config = { ...(route.config ?? {}), access };
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // Fastify adds HEAD twins of GET routes and the not-found handler itself; they inherit the GET route's config.
    if (!access) {
      if (methods.every((m) => m === 'HEAD')) return;
      throw new Error(`route ${methods.join(',')} ${route.url} declares no config.access`);
    }
    for (const m of methods) routes.push({ method: m, url: route.url, access });
  });
}
