import { collectDefaultMetrics, type Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { PlainCounter, PlainHistogram } from '../core/plain-metrics.js';

const UNMATCHED = '(unmatched)';

// A scrape labels series by route template, never by raw URL: ids in paths would make cardinality unbounded.
function routeLabel(url: string | undefined): string {
  return url ?? UNMATCHED;
}

type HttpLabels = 'method' | 'route' | 'status';

/** The request counter and latency histogram on `registry`, created once per registry. */
function httpMetrics(registry: Registry): { requests: PlainCounter<HttpLabels>; duration: PlainHistogram<HttpLabels> } {
  const labelNames: HttpLabels[] = ['method', 'route', 'status'];
  const requests = PlainCounter.on(registry, { name: 'capstan_http_requests_total', help: 'HTTP requests answered, by route template, method and status', labelNames });
  const duration = PlainHistogram.on(registry, {
    name: 'capstan_http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by route template, method and status',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  return { requests, duration };
}

/** Counts every answered request and its duration on the platform's registry. */
export function installHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const { requests, duration } = httpMetrics(registry);
  // A callback hook: it runs on every request, and an async one costs a promise and a tick.
  app.addHook('onResponse', (request, reply, done) => {
    const labels = { method: request.method, route: routeLabel(request.routeOptions.url), status: String(reply.statusCode) };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
    done();
  });
}

const withDefaults = new WeakSet<Registry>();

/**
 * Adds Node's process metrics (CPU, memory, event-loop lag, GC) to `registry`, once. Only a real
 * server process does this: the collectors observe the whole process, so tests building many apps skip it.
 */
export function collectProcessMetrics(registry: Registry): void {
  if (withDefaults.has(registry)) return;
  withDefaults.add(registry);
  collectDefaultMetrics({ register: registry });
}
