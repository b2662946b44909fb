import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CapstanError, isCapstanError } from '../../core/errors.js';
import type { FunctionStep } from '../definition.js';
import { emptyOutcome, type StepHandler } from './step-handler.js';

/** What a function step's handler receives as its first argument. */
export interface FunctionEvent {
  args: Record<string, unknown>;
  params: Record<string, unknown>;
  execution: { id: string; pipeline: string };
}

/** The second argument: a logger and a cancellation signal. */
export interface FunctionContext {
  log(line: string): void;
  signal: AbortSignal;
}

/**
 * What the handler threw, as a step error: the user's code failing is not an internal error of
 * Capstan, and the message keeps the error's class and `code` so the step record says what broke.
 * Retryable: the handler may call something that fails transiently; the step's retry policy decides.
 */
function handlerError(step: string, err: unknown): CapstanError {
  if (isCapstanError(err)) return err;
  const e = err instanceof Error ? (err as Error & { code?: unknown }) : undefined;
  const what = e ? `${e.name}${typeof e.code === 'string' || typeof e.code === 'number' ? ` (${e.code})` : ''}: ${e.message}` : `the value ${String(err)}`;
  return new CapstanError('CAPSTAN_PIPELINE_FUNCTION_FAILED', `step "${step}": the handler threw ${what}`, { cause: err });
}

/**
 * function: imports the module from the pipeline's code snapshot and calls its exported handler
 * in-process (the serverless-function step). The returned object becomes the step's properties.
 * The handler runs inside the scheduler process, so it is for light glue work; heavy work belongs
 * in a processing step. TypeScript modules need Capstan running under tsx.
 */
export const runFunctionStep: StepHandler = async (inv, services) => {
  const step = inv.step as FunctionStep;
  if (!inv.work.codePrefix) {
    throw new CapstanError('CAPSTAN_PIPELINE_FUNCTION_INVALID', `step "${step.name}": the pipeline has no "code" directory to load ${step.module} from`, { fields: { retryable: false } });
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), `capstan-fn-${step.name}-`));
  try {
    await services.artifacts.downloadDirectory(inv.work.codePrefix, dir);
    const file = path.join(dir, step.module);
    if (!(await stat(file).catch(() => undefined))?.isFile()) {
      throw new CapstanError('CAPSTAN_PIPELINE_FUNCTION_INVALID', `step "${step.name}": module ${step.module} is not in the code directory`, { fields: { retryable: false } });
    }
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      throw new CapstanError('CAPSTAN_PIPELINE_FUNCTION_INVALID', `step "${step.name}": cannot load ${step.module}: ${(err as Error).message.split('\n')[0]}`, { cause: err, fields: { retryable: false } });
    }
    const handler = mod[step.handler] ?? (mod.default as Record<string, unknown> | undefined)?.[step.handler];
    if (typeof handler !== 'function') {
      throw new CapstanError('CAPSTAN_PIPELINE_FUNCTION_INVALID', `step "${step.name}": ${step.module} exports no function "${step.handler}"`, { fields: { retryable: false } });
    }
    const event: FunctionEvent = { args: step.args, params: inv.scope.params, execution: inv.scope.execution };
    const context: FunctionContext = { log: (line) => inv.log('stdout', line), signal: inv.signal };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CapstanError('CAPSTAN_PIPELINE_STEP_TIMEOUT', `step "${step.name}" ran longer than ${step.timeoutMs} ms`)), step.timeoutMs ?? 60_000);
    });
    const cancelled = new Promise<never>((_, reject) => {
      inv.signal.addEventListener('abort', () => reject(new CapstanError('CAPSTAN_PIPELINE_STEP_CANCELLED', `step "${step.name}" was cancelled`, { fields: { retryable: false } })), { once: true });
    });
    let result: unknown;
    try {
      // async so that a synchronous throw becomes a rejection like an asynchronous one.
      const call = async () => {
        try {
          return await (handler as (e: FunctionEvent, c: FunctionContext) => unknown)(event, context);
        } catch (err) {
          throw handlerError(step.name, err);
        }
      };
      result = await Promise.race([call(), timeout, cancelled]);
    } finally {
      clearTimeout(timer);
    }
    if (result !== undefined && (result === null || typeof result !== 'object' || Array.isArray(result))) {
      throw new CapstanError('CAPSTAN_PIPELINE_FUNCTION_INVALID', `step "${step.name}": the handler must return an object or nothing`, { fields: { retryable: false } });
    }
    return { ...emptyOutcome(), properties: JSON.parse(JSON.stringify(result ?? {})) };
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
};
