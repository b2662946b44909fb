import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform/platform.js';
import { artifactRoutes } from './artifact-routes.js';
import { endpointsRoutes } from './endpoints-routes.js';
import { experimentsRoutes } from './experiments-routes.js';
import { healthRoutes } from './health-routes.js';
import { pipelinesRoutes } from './pipelines-routes.js';
import { invocationRoutes } from './invocation-routes.js';
import { jobsRoutes } from './jobs-routes.js';
import { keyRoutes } from './key-routes.js';
import { metricsRoutes } from './metrics-routes.js';
import { registryRoutes } from './registry-routes.js';

/** Options every route plugin receives. */
export interface RoutePluginOptions {
  platform: Platform;
}

/** A context's routes: one plugin per context, each in its own file. */
export type RoutePlugin = FastifyPluginAsync<RoutePluginOptions>;

/** Every route plugin, in registration order. Add one line per context. */
export const routePlugins: RoutePlugin[] = [healthRoutes, metricsRoutes, keyRoutes, jobsRoutes, endpointsRoutes, invocationRoutes, artifactRoutes, experimentsRoutes, registryRoutes, pipelinesRoutes];
