import { pathToFileURL } from 'node:url';
import { CapstanError } from '../../core/errors.js';
import { packagePath } from '../model-manifest.js';
import type { HandlerContext, HandlerFactory, InferenceHandler } from './inference-handler.js';
import { createNcfRankingHandler } from './ncf-ranking-handler.js';
import { createTensorHandler } from './tensor-handler.js';

/** Handlers that ship with Capstan, by the name a model.json uses after `builtin:`. */
export const builtinHandlers: Record<string, HandlerFactory> = {
  'ncf-ranking': createNcfRankingHandler as HandlerFactory,
  tensor: createTensorHandler as HandlerFactory,
};

/**
 * Builds the handler a package names: a built-in one, a module inside the package exporting
 * `createHandler` (or a default factory), or the tensor handler when the package names none.
 */
export async function loadHandler(ctx: HandlerContext): Promise<InferenceHandler> {
  const ref = ctx.manifest.handler ?? 'builtin:tensor';
  if (ref.startsWith('builtin:')) {
    const factory = builtinHandlers[ref.slice('builtin:'.length)];
    if (!factory) {
      throw new CapstanError('CAPSTAN_SERVING_MODEL_PACKAGE_INVALID', `unknown handler ${ref}; built-in handlers: ${Object.keys(builtinHandlers).map((n) => `builtin:${n}`).join(', ')}`);
    }
    return factory(ctx);
  }
  const mod = (await import(pathToFileURL(packagePath(ctx.dir, ref)).href)) as { createHandler?: HandlerFactory; default?: HandlerFactory };
  const factory = mod.createHandler ?? mod.default;
  if (typeof factory !== 'function') throw new CapstanError('CAPSTAN_SERVING_MODEL_PACKAGE_INVALID', `handler module ${ref} exports no createHandler function`);
  return factory(ctx);
}
