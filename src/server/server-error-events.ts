import type { FastifyInstance, FastifyRequest } from 'fastify';
import { newId } from '../core/ids.js';
import type { Platform } from '../platform/platform.js';
import { appendEvent } from '../storage/outbox/index.js';

/** Response header carrying the correlation id of an unexpected server error. */
export const CORRELATION_HEADER = 'x-correlation-id';

const ids = new WeakMap<FastifyRequest, string>();

/**
 * Unexpected server errors (5xx other than 503, which means "not ready / database down" and has its
 * own probes) get a correlation id in the response header and the log, and a `server.error` domain
 * event in the outbox, so a notification can announce it with that id (no body or stack leaves the server).
 */
export function installServerErrorEvents(app: FastifyInstance, platform: Platform): void {
  // Callback hooks: every request passes them, and an async hook costs a promise and a tick even when it returns at once.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode >= 500 && reply.statusCode !== 503) {
      const id = newId('cor');
      ids.set(request, id);
      reply.header(CORRELATION_HEADER, id);
    }
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const correlationId = ids.get(request);
    if (!correlationId) return done();
    recordServerError(platform, request, reply.statusCode, correlationId).then(() => done());
  });
}

/** Logs an unexpected server error and appends its `server.error` event; never rejects. */
async function recordServerError(platform: Platform, request: FastifyRequest, status: number, correlationId: string): Promise<void> {
  const route = request.routeOptions.url ?? 'unknown';
  platform.logger.error({ correlationId, method: request.method, route, status }, 'unexpected server error');
  try {
    await appendEvent(platform.db.kysely, { type: 'server.error', subject: `server/${correlationId}`, data: { correlationId, method: request.method, route, status } });
  } catch (err) {
    // The database may be what failed; the log line above still carries the id.
    platform.logger.warn({ err, correlationId }, 'could not record the server error event');
  }
}
