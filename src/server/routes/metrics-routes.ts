import type { RoutePlugin } from './index.js';

/**
 * Prometheus exposition at `/metrics`. It needs a `viewer` key when auth is on: series carry route,
 * endpoint and model names, which are not for anonymous callers on a shared network.
 */
export const metricsRoutes: RoutePlugin = async (app, { platform }) => {
  app.get('/metrics', { config: { access: 'viewer' }, schema: { tags: ['health'], hide: true } }, async (_request, reply) => {
    const body = await platform.metrics.metrics();
    return reply.type(platform.metrics.contentType).send(body);
  });
};
