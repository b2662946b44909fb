import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform/platform.js';
import { artifactRoutes } from './artifact-routes.js';
import { healthRoutes } from './health-routes.js';
import { jobsRoutes } from './jobs-routes.js';
import { metricsRoutes } from './metrics-routes.js';

/** Options every platform route plugin receives. */
export interface RoutePluginOptions {
  platform: Platform;
}

/** Routes of the platform itself (not of one context), or extra routes an embedder adds. */
export type RoutePlugin = FastifyPluginAsync<RoutePluginOptions>;

/**
 * The platform's own routes (health, metrics, the job queue, the artifact store), registered before
 * every context's; each context brings its routes in its module (`ContextModule.routes`).
 */
export const routePlugins: RoutePlugin[] = [healthRoutes, metricsRoutes, jobsRoutes, artifactRoutes];
