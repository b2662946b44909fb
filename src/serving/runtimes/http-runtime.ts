import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { CapstanError } from '../../core/errors.js';
import { assertOutboundUrl, outboundLookup } from '../../core/outbound-guard.js';
import type { Engine, EngineSpec } from './engine.js';

/** The largest answer accepted from an external server, so one bad upstream cannot exhaust the worker's memory. */
const MAX_UPSTREAM_BYTES = 64 * 1024 * 1024;

/**
 * The `http` runtime: forwards each invocation to an external model server (`url` in model.json, or
 * the variant's `url` option). The URL passes the outbound guard when the model loads, and every
 * connection re-checks the resolved address, so DNS cannot redirect it to a blocked network later.
 */
export async function createHttpEngine(spec: EngineSpec): Promise<Engine> {
  const { manifest, options } = spec;
  const raw = options.url ?? manifest.url;
  if (!raw) throw new CapstanError('CAPSTAN_SERVING_MODEL_PACKAGE_INVALID', 'an http model needs a url in model.json or in the variant');
  const target = await assertOutboundUrl(raw, options.outbound, { purpose: 'model URL' });
  const agent = new Agent({ connect: { lookup: outboundLookup(options.outbound) }, keepAliveTimeout: 10_000, connections: 64 });
  const url = target.url.toString();
  return {
    inputs: manifest.signature.inputs,
    outputs: manifest.signature.outputs,
    async invoke(req) {
      const started = performance.now();
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(url, {
          method: 'POST',
          dispatcher: agent,
          body: req.body,
          headers: {
            'content-type': req.contentType,
            accept: 'application/json',
            ...(req.customAttributes ? { 'x-capstan-custom-attributes': req.customAttributes } : {}),
          },
        });
      } catch (err) {
        throw new CapstanError('CAPSTAN_SERVING_UPSTREAM_ERROR', `the external model server did not answer: ${(err as NodeJS.ErrnoException).code ?? 'connection failed'}`, { cause: err });
      }
      // Only a 2xx answer is the model's: a redirect is not followed (its target never passed the
      // outbound guard) and an error page is not a prediction. Neither body reaches the client.
      if (res.statusCode < 200 || res.statusCode >= 300) {
        // Discards a bounded amount of the body so the connection can be reused, never keeping it.
        await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
        throw new CapstanError('CAPSTAN_SERVING_UPSTREAM_ERROR', `the external model server answered HTTP ${res.statusCode}`, { fields: { upstreamStatus: res.statusCode } });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_UPSTREAM_BYTES) {
          res.body.destroy();
          throw new CapstanError('CAPSTAN_SERVING_UPSTREAM_ERROR', 'the external model server answered more than 64 MiB');
        }
        chunks.push(chunk as Buffer);
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const modelMs = performance.now() - started;
      const ct = res.headers['content-type'];
      return { body, contentType: (Array.isArray(ct) ? ct[0] : ct) ?? 'application/json', modelMs };
    },
    async infer() {
      throw new CapstanError('CAPSTAN_SERVING_PROTOCOL_UNSUPPORTED', 'an http model takes invocations, not Open Inference Protocol tensors');
    },
    async close() {
      await agent.close();
    },
  };
}
