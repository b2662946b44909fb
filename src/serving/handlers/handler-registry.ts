import { pathToFileURL } from 'node:url';
import { CapstanError } from '../../core/errors.js';
import { packagePath } from '../../core/model-manifest.js';
import type { HandlerContext, HandlerFactory, InferenceHandler } from './inference-handler.js';
import { createTensorHandler } from './tensor-handler.js';

/** Handlers serving itself ships, by the name a model.json uses after `builtin:`. */
const ownHandlers: Record<string, HandlerFactory> = {
  tensor: createTensorHandler as HandlerFactory,
};

// Handlers that live with their algorithm (`builtin:ncf-ranking` in src/algorithms/ncf), by name →
// module URL. Modules, not factories: handlers run in model worker threads, which import the module
// themselves (see ModelWorker), so serving never imports an algorithm.
const registered = new Map<string, string>();

/**
 * Makes `builtin:<name>` load the handler module at `moduleUrl` (its `createHandler` export). The
 * composition root registers the algorithms' handlers; a worker thread registers what its gateway sent.
 */
export function registerBuiltinHandler(name: string, moduleUrl: string | URL): void {
  if (Object.hasOwn(ownHandlers, name)) throw new CapstanError('CAPSTAN_INTERNAL', `builtin:${name} is serving's own handler and cannot be replaced`);
  registered.set(name, String(moduleUrl));
}

/** The registered handler modules by name, as a worker thread is started with them. */
export function builtinHandlerModules(): Record<string, string> {
  return Object.fromEntries(registered);
}

async function builtinFactory(name: string): Promise<HandlerFactory | undefined> {
  if (Object.hasOwn(ownHandlers, name)) return ownHandlers[name];
  const url = registered.get(name);
  if (!url) return undefined;
  const mod = (await import(url)) as { createHandler?: HandlerFactory };
  if (typeof mod.createHandler !== 'function') throw new CapstanError('CAPSTAN_SERVING_MODEL_PACKAGE_INVALID', `builtin:${name} exports no createHandler function`);
  return mod.createHandler;
}

/**
 * Builds the handler a package names: a built-in one, a module inside the package exporting
 * `createHandler` (or a default factory), or the tensor handler when the package names none.
 */
export async function loadHandler(ctx: HandlerContext): Promise<InferenceHandler> {
  const ref = ctx.manifest.handler ?? 'builtin:tensor';
  if (ref.startsWith('builtin:')) {
    const factory = await builtinFactory(ref.slice('builtin:'.length));
    if (!factory) {
      const known = [...Object.keys(ownHandlers), ...registered.keys()].sort();
      throw new CapstanError('CAPSTAN_SERVING_MODEL_PACKAGE_INVALID', `unknown handler ${ref}; built-in handlers: ${known.map((n) => `builtin:${n}`).join(', ')}`);
    }
    return factory(ctx);
  }
  const mod = (await import(pathToFileURL(packagePath(ctx.dir, ref)).href)) as { createHandler?: HandlerFactory; default?: HandlerFactory };
  const factory = mod.createHandler ?? mod.default;
  if (typeof factory !== 'function') throw new CapstanError('CAPSTAN_SERVING_MODEL_PACKAGE_INVALID', `handler module ${ref} exports no createHandler function`);
  return factory(ctx);
}
