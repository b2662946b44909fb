import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { isCapstanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { InvocationInput, LiveEndpoint, LiveVariant } from './endpoint-host.js';
import type { InvocationBody } from './invocation-body.js';
import { Outcome, outcomeOf } from './variant-stats-recorder.js';

/** The primary variant's answer, as the shadow's is compared with it. */
export interface PrimaryAnswer {
  variant: string;
  body: InvocationBody;
  contentType: string;
  latencyMs: number;
}

/**
 * Sends a sampled share of an endpoint's requests also to its shadow variants. On the request path
 * only the sampling happens; the copies start once the caller's answer is sent (`afterAnswer`: the
 * HTTP route waits for the response's 'finish'), and nothing waits for them: a slow or failing shadow
 * never delays or fails a user's request. Each pair (primary and shadow answer, joined by the
 * inference id) goes to data capture, which batches its writes, when it is on, for `shadow-report`.
 */
export function mirrorToShadows(ep: LiveEndpoint, input: InvocationInput, primary: PrimaryAnswer, logger: Logger): void {
  let picked: LiveVariant[] | undefined;
  for (const shadow of ep.shadows) if (Math.random() * 100 < (shadow.config.shadowPercent ?? 0)) (picked ??= []).push(shadow);
  if (!picked) return;
  const shadows = picked;
  (input.afterAnswer ?? setImmediate)(() => {
    const pairId = input.inferenceId ?? randomUUID();
    for (const shadow of shadows) runShadow(ep, shadow, input, primary, pairId).catch((err) => logger.warn({ err, endpoint: ep.name, variant: shadow.name }, 'shadow request failed unexpectedly'));
  });
}

async function runShadow(ep: LiveEndpoint, shadow: LiveVariant, input: InvocationInput, primary: PrimaryAnswer, pairId: string): Promise<void> {
  const started = performance.now();
  let answer: { status: number; body: InvocationBody; contentType: string };
  try {
    const r = await shadow.pool.invoke(input.body, input.contentType, input.customAttributes, input.accept);
    shadow.stats.record(performance.now() - started, Outcome.Ok);
    answer = { status: 200, body: r.body, contentType: r.contentType };
  } catch (err) {
    shadow.stats.record(performance.now() - started, outcomeOf(err));
    answer = { status: isCapstanError(err) ? err.status : 500, body: JSON.stringify({ code: isCapstanError(err) ? err.code : 'CAPSTAN_INTERNAL' }), contentType: 'application/json' };
  }
  const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
  if (!ep.capture) return;
  const common = { inferenceId: pairId, requestContentType: input.contentType, request: input.body };
  ep.capture.add({ ...common, variant: primary.variant, responseContentType: primary.contentType, response: primary.body, status: 200, latencyMs: Math.round(primary.latencyMs * 1000) / 1000 });
  ep.capture.add({ ...common, variant: shadow.name, shadowOf: primary.variant, responseContentType: answer.contentType, response: answer.body, status: answer.status, latencyMs });
}
