import { CapstanError } from '../../core/errors.js';

/** What a built-in step function receives: the step contract's directories, already prepared. */
export interface BuiltinContext {
  inputDir: string;
  outputDir: string;
  modelDir: string;
  hyperparameters: Record<string, string | number | boolean>;
  /** Writes one line to the step log (metric regexes see it). */
  log(line: string): void;
}

/** A built-in step: reads inputs, writes outputs and the model, throws on failure. */
export type BuiltinFunction = (ctx: BuiltinContext) => Promise<void>;

type Loader = () => Promise<BuiltinFunction>;

/**
 * Loads one function from an algorithm's builtins module. Modules may export the functions by
 * short name (`train`), by prefixed name (`ncfTrain`) or as a map keyed by full name (`ncf.train`).
 */
async function fromModule(specifier: string, fullName: string): Promise<BuiltinFunction> {
  const mod = (await import(specifier)) as Record<string, unknown>;
  const [area, short] = fullName.split('.');
  const prefixed = `${area}${short.charAt(0).toUpperCase()}${short.slice(1)}`;
  const maps = [mod.builtins, mod[`${area}Builtins`], mod.default].filter((m): m is Record<string, unknown> => !!m && typeof m === 'object');
  const candidates = [mod[short], mod[prefixed], ...maps.flatMap((m) => [m[fullName], m[short]])];
  const fn = candidates.find((c) => typeof c === 'function');
  if (!fn) throw new CapstanError('CAPSTAN_PIPELINE_BUILTIN_UNKNOWN', `built-in "${fullName}" is not exported by its module`, { fields: { builtin: fullName } });
  return fn as BuiltinFunction;
}

// The algorithms are loaded only when a step uses them, so a pipeline of Python steps never pays for TensorFlow.
const NCF_MODULE = '../../algorithms/ncf/builtins.js';

const catalogue = new Map<string, Loader>([
  ['ncf.prepare', () => fromModule(NCF_MODULE, 'ncf.prepare')],
  ['ncf.train', () => fromModule(NCF_MODULE, 'ncf.train')],
  ['ncf.evaluate', () => fromModule(NCF_MODULE, 'ncf.evaluate')],
]);

/** Names of every built-in step function. */
export function builtinNames(): string[] {
  return [...catalogue.keys()].sort();
}

/** True when `name` is a known built-in. */
export function isKnownBuiltin(name: string): boolean {
  return catalogue.has(name);
}

/** Registers a built-in from a module path (absolute file URL or package specifier) and export name. */
export function registerBuiltinModule(name: string, specifier: string): void {
  catalogue.set(name, () => fromModule(specifier, name));
}

/** Loads a built-in; CAPSTAN_PIPELINE_BUILTIN_UNKNOWN when the name is not in the catalogue. */
export async function loadBuiltin(name: string): Promise<BuiltinFunction> {
  const loader = catalogue.get(name);
  if (!loader) {
    throw new CapstanError('CAPSTAN_PIPELINE_BUILTIN_UNKNOWN', `no built-in "${name}"; known: ${builtinNames().join(', ')}`, { fields: { builtin: name } });
  }
  return loader();
}
