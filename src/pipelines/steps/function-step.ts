import { mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CapstanError } from '../../core/errors.js';
import { hidePath } from '../../core/hide-path.js';
import type { FunctionStep } from '../definition.js';
import { downloadInput } from '../artifact-digest.js';
import { callInSandbox } from './function-sandbox.js';
import { emptyOutcome, type StepHandler } from './step-handler.js';

/** What a function step's handler receives as its first argument. */
export interface FunctionEvent {
  args: Record<string, unknown>;
  /** Local directory of each input channel, downloaded from the artifact store (whatever store it is). */
  inputs: Record<string, string>;
  params: Record<string, unknown>;
  execution: { id: string; pipeline: string };
}

/** The second argument: a logger. A cancel or timeout terminates the handler's thread, so it needs no signal. */
export interface FunctionContext {
  log(line: string): void;
}

/**
 * function: calls the exported handler of a module from the pipeline's code snapshot in its own
 * worker thread (the serverless-function step); the returned object becomes the step's properties.
 * A timeout or cancel terminates the thread. For light glue work: heavy work belongs in a processing
 * step. TypeScript modules need tsx installed beside Capstan.
 */
export const runFunctionStep: StepHandler = async (inv, services) => {
  const step = inv.step as FunctionStep;
  if (!inv.work.codePrefix) {
    throw new CapstanError('CAPSTAN_PIPELINE_FUNCTION_INVALID', `step "${step.name}": the pipeline has no "code" directory to load ${step.module} from`, { retryable: false });
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), `capstan-fn-${step.name}-`));
  try {
    await services.artifacts.downloadDirectory(inv.work.codePrefix, dir);
    // Bare imports (`import YAML from 'yaml'`) resolve from the packages installed where Capstan runs,
    // as they would for the module in the user's project; the link goes with the copy afterwards.
    const packages = path.join(process.cwd(), 'node_modules');
    if ((await stat(packages).catch(() => undefined))?.isDirectory()) await symlink(packages, path.join(dir, 'node_modules'), 'dir').catch(() => {});
    const file = path.join(dir, step.module);
    if (!(await stat(file).catch(() => undefined))?.isFile()) {
      throw new CapstanError('CAPSTAN_PIPELINE_FUNCTION_INVALID', `step "${step.name}": module ${step.module} is not in the code directory`, { retryable: false });
    }
    const inputs: Record<string, string> = {};
    for (const [channel, value] of Object.entries(step.inputs)) {
      inputs[channel] = path.join(dir, '.capstan-inputs', channel);
      await downloadInput(services.artifacts, channel, value, inputs[channel]);
    }
    const event: FunctionEvent = { args: step.args, inputs, params: inv.scope.params, execution: inv.scope.execution };
    const timeoutMs = step.timeoutMs ?? 60_000;
    const raw = await callInSandbox({ file, module: step.module, handler: step.handler, event, timeoutMs, signal: inv.signal, log: (line) => inv.log('stdout', line) });
    // Messages (import errors especially) name the snapshot's temporary copy; show the code directory instead.
    const outcome = 'message' in raw ? { ...raw, message: hidePath(raw.message, dir, '<code>') } : raw;
    switch (outcome.kind) {
      case 'result':
        return { ...emptyOutcome(), properties: outcome.value as Record<string, unknown> };
      case 'threw': {
        const what = `${outcome.name}${outcome.code !== undefined ? ` (${outcome.code})` : ''}: ${outcome.message}`;
        // The user's code failing is not an internal error of Capstan; retryable, so the step's policy decides.
        throw new CapstanError('CAPSTAN_PIPELINE_FUNCTION_FAILED', `step "${step.name}": the handler threw ${what}`);
      }
      case 'crashed':
        throw new CapstanError('CAPSTAN_PIPELINE_FUNCTION_FAILED', `step "${step.name}": ${outcome.message}`);
      case 'invalid':
        throw new CapstanError('CAPSTAN_PIPELINE_FUNCTION_INVALID', `step "${step.name}": ${outcome.message}`, { retryable: false });
      case 'timeout':
        throw new CapstanError('CAPSTAN_PIPELINE_STEP_TIMEOUT', `step "${step.name}" ran longer than ${timeoutMs} ms`);
      case 'cancelled':
        throw new CapstanError('CAPSTAN_PIPELINE_STEP_CANCELLED', `step "${step.name}" was cancelled`, { retryable: false });
    }
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
};
