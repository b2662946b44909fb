import type { FastifyInstance, onSendAsyncHookHandler } from 'fastify';
import type { InstalledContext } from '../../platform/platform.js';
import { OPENAPI_PATH } from './swagger-options.js';

const DOC_URLS = new Set([OPENAPI_PATH, '/docs/json']);

/**
 * Adds the paths contexts compute from their data (one operation per active decision use case) to
 * the served API document, on each request: the static document is generated once at start, these
 * paths change whenever a version is activated. The hook is attached to the document's routes only,
 * so no other request pays for it.
 */
export function installContextApiDocs(app: FastifyInstance, contexts: readonly InstalledContext[]): void {
  const withContextPaths: onSendAsyncHookHandler = async (_request, reply, payload) => {
    if (reply.statusCode !== 200 || typeof payload !== 'string') return payload;
    const sources = contexts.filter((c) => c.apiDocs);
    if (sources.length === 0) return payload;
    const doc = JSON.parse(payload) as { paths?: Record<string, unknown>; tags?: { name: string }[] };
    for (const ctx of sources) {
      const fragment = await ctx.apiDocs!();
      doc.paths = { ...doc.paths, ...fragment.paths };
      for (const tag of fragment.tags ?? []) if (!doc.tags?.some((t) => t.name === tag.name)) (doc.tags ??= []).push(tag);
    }
    return JSON.stringify(doc);
  };
  app.addHook('onRoute', (route) => {
    if (!DOC_URLS.has(route.url)) return;
    const existing = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend];
    route.onSend = [...existing, withContextPaths];
  });
}
