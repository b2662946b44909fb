import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { CapstanError } from '../../core/errors.js';
import { readCookie, SESSION_COOKIE, sessionCookie, csrfMatches, type ConsoleSessions } from '../../auth/index.js';
import type { Platform } from '../../platform/platform.js';
import { sendConsoleFile } from './console-static.js';
import { downsampleMinMax, type Point } from './downsample.js';
import { MetricsFromLogs } from '../../pipelines/index.js';

/** Options of the console plugin. */
export interface ConsoleRouteOptions {
  platform: Platform;
  sessions: ConsoleSessions;
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** A page of another site may not sign a visitor in (login CSRF); the browser says so in Sec-Fetch-Site. */
function refuseCrossSite(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site') throw new CapstanError('CAPSTAN_REQUEST_CROSS_ORIGIN', 'a console session can only be opened from the console itself');
}

/**
 * The web console: its static files under `/console/` (`/` redirects there), the session exchange
 * (`/console/session`: an API key for an HttpOnly cookie plus a CSRF token) and a Server-Sent
 * Events stream of an execution's step states for the live graph.
 */
export const consoleRoutes: FastifyPluginAsync<ConsoleRouteOptions> = async (app, { platform, sessions }) => {
  const authOn = platform.config.server.auth;

  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/', 302));
  app.get('/console', { config: { access: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/', 301));
  app.get('/console/*', { config: { access: 'public' }, schema: { hide: true } }, async (req, reply) => sendConsoleFile(reply, (req.params as { '*': string })['*']));

  app.get('/console/session', { config: { access: 'public' }, schema: { hide: true } }, async (req) => {
    if (!authOn) return { authEnabled: false, signedIn: true, name: 'anonymous', role: 'admin', csrfToken: null };
    const session = await sessions.get(readCookie(req, SESSION_COOKIE));
    if (!session) return { authEnabled: true, signedIn: false };
    return { authEnabled: true, signedIn: true, name: session.principal.name, role: session.principal.role, csrfToken: session.csrfToken };
  });

  app.post(
    '/console/session',
    { config: { access: 'public' }, schema: { hide: true, body: Type.Object({ apiKey: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }) } },
    async (req, reply) => {
      refuseCrossSite(req);
      if (!authOn) return { authEnabled: false, signedIn: true, name: 'anonymous', role: 'admin', csrfToken: null };
      const principal = await platform.apiKeys.authenticate((req.body as { apiKey: string }).apiKey.trim());
      if (!principal) throw new CapstanError('CAPSTAN_AUTH_INVALID_KEY');
      const session = await sessions.create(principal);
      const secure = req.protocol === 'https';
      reply.header('set-cookie', sessionCookie(session.id, Math.floor((session.expiresAt - Date.now()) / 1000), secure));
      reply.header('cache-control', 'no-store');
      return { authEnabled: true, signedIn: true, name: principal.name, role: principal.role, csrfToken: session.csrfToken };
    },
  );

  app.delete('/console/session', { config: { access: 'public' }, schema: { hide: true } }, async (req, reply) => {
    const session = await sessions.get(readCookie(req, SESSION_COOKIE));
    if (session) {
      if (!csrfMatches(req, session)) throw new CapstanError('CAPSTAN_CONSOLE_CSRF_REQUIRED', "send the session's CSRF token in the X-Capstan-CSRF header");
      await sessions.revoke(session.id);
    }
    reply.header('set-cookie', sessionCookie('', 0, req.protocol === 'https'));
    return reply.code(204).send();
  });

  app.get(
    '/api/v1/pipeline-executions/:id/events',
    { config: { access: 'viewer' }, schema: { tags: ['pipelines'], summary: "Server-Sent Events: the execution's state and steps whenever they change, until it ends", params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }) } },
    async (req, reply) => {
      const id = (req.params as { id: string }).id;
      let exec = await platform.pipelines.execution(id);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      let open = true;
      req.raw.on('close', () => (open = false));
      let last = '';
      while (open) {
        const data = JSON.stringify(exec);
        if (data !== last) res.write(`event: execution\ndata: ${data}\n\n`);
        last = data;
        if (FINAL.has(exec.state)) break;
        await new Promise((r) => setTimeout(r, 250));
        if (!open) break;
        try {
          exec = await platform.pipelines.execution(id);
        } catch {
          break;
        }
      }
      res.end();
    },
  );

  app.get(
    '/api/v1/pipeline-executions/:id/steps/:step/metric-series',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['pipelines'],
        summary: "A step's metric series read from its logs by the step's metric_definitions, downsampled on the server",
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }), step: Type.String({ minLength: 1, maxLength: 63 }) }),
        querystring: Type.Object({ points: Type.Optional(Type.Integer({ minimum: 2, maximum: 5000, description: 'Most points per series (min and max of each bucket kept); default 400' })) }),
      },
    },
    async (req) => {
      const { id, step } = req.params as { id: string; step: string };
      const maxPoints = (req.query as { points?: number }).points ?? 400;
      const exec = await platform.pipelines.execution(id);
      const pipeline = await platform.pipelines.describe(exec.pipeline);
      const def = pipeline.definition.steps.find((s) => s.name === step);
      if (!def) throw new CapstanError('CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND', `execution "${id}" has no step "${step}"`);
      const series = new Map<string, Point[]>();
      const reader = new MetricsFromLogs(('metricDefinitions' in def ? def.metricDefinitions : undefined) ?? [], (p) => {
        const list = series.get(p.name) ?? [];
        list.push([p.step, p.value]);
        series.set(p.name, list);
      });
      for (const line of await platform.pipelines.executionLogs(id, { step, limit: 100_000 })) {
        // The runner's own lines (the command it ran) are not the step's output.
        if (line.stream !== 'system') reader.line(line.line, Date.parse(line.at));
      }
      return {
        execution: id,
        step,
        series: [...series].map(([name, points]) => ({ name, total: points.length, points: downsampleMinMax(points, maxPoints) })),
      };
    },
  );
};
