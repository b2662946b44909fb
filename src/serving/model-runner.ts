import { readManifest } from '../core/model-manifest.js';
import type { OutboundSettings } from '../core/outbound-guard.js';
import type { Logger } from '../core/logger.js';
import type { ResolvedModel } from './endpoint.js';
import type { ModelSource } from './model-source.js';
import { VariantPool } from './variant-pool.js';
import { bodyText } from './invocation-body.js';

/** Options of a model runner outside any endpoint; every field has a default. */
export interface ModelRunnerOptions {
  /** Worker threads, each with its own copy of the model; default 1. */
  instances?: number;
  /** Rows merged into one model call by the dynamic batcher; default 1 (off). */
  maxBatchSize?: number;
  /** A record slower than this fails with CAPSTAN_SERVING_TIMEOUT; default 60000 ms. */
  timeoutMs?: number;
  /** Handler options, as an endpoint variant would set them; default none. */
  handlerOptions?: Record<string, unknown>;
}

/** A registered model loaded on its own worker threads (batch transform), with no endpoint and no traffic. */
export interface ModelRunner {
  /** The version the reference resolved to. */
  readonly model: ResolvedModel;
  /** Runs one record through the model's handler, as an endpoint invocation would. */
  invoke(body: string, contentType: string): Promise<{ body: string; contentType: string }>;
  /** Stops the worker threads. */
  close(): Promise<void>;
}

/** Resolves `ref` through the model source and starts a pool of worker threads for it. */
export async function openModelRunner(
  deps: { models: ModelSource; logger: Logger; outbound: OutboundSettings },
  ref: string,
  options: ModelRunnerOptions = {},
): Promise<ModelRunner> {
  const model = await deps.models.resolve(ref);
  const dir = await deps.models.localPackage(model);
  const pool = new VariantPool(
    {
      dir,
      manifest: readManifest(dir),
      options: {
        intraOpThreads: 1,
        interOpThreads: 1,
        batching: { maxBatchSize: options.maxBatchSize ?? 1, maxDelayMs: 0 },
        handlerOptions: options.handlerOptions ?? {},
        outbound: deps.outbound,
      },
    },
    { instances: options.instances ?? 1, timeoutMs: options.timeoutMs ?? 60_000, logger: deps.logger },
  );
  await pool.start();
  return {
    model,
    async invoke(body, contentType) {
      const r = await pool.invoke(body, contentType);
      return { body: bodyText(r.body), contentType: r.contentType };
    },
    close: () => pool.close(),
  };
}
