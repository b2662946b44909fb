import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CapstanError } from '../../../core/errors.js';
import type { ArtifactStore } from '../../../storage/artifacts/artifact-store.js';
import { downloadInput } from '../../artifact-digest.js';

/** What the init and finishing containers of a Kubernetes step need; passed as JSON in CAPSTAN_STEP_IO. */
export interface StepIoSpec {
  codePrefix: string | null;
  inputs: Record<string, string>;
  outputs: string[];
  modelOutput: boolean;
  outputPrefix: string;
  hyperparameters: Record<string, string | number | boolean>;
}

/** Environment variable the step-io containers read their spec from. */
export const STEP_IO_ENV = 'CAPSTAN_STEP_IO';
/** File the wrapped step command writes its exit code to; the finishing container waits for it. */
export const EXIT_FILE = '.exit';

/** The working tree layout inside the pod's shared volume (same shape as the local executor's). */
export function stepDirs(root: string): { code: string; input: string; output: string; model: string; hyperparameters: string } {
  return { code: path.join(root, 'code'), input: path.join(root, 'input'), output: path.join(root, 'output'), model: path.join(root, 'model'), hyperparameters: path.join(root, 'hyperparameters.json') };
}

/** Parses CAPSTAN_STEP_IO; a missing or malformed spec is a configuration error of the Job. */
export function readStepIoSpec(env: Record<string, string | undefined> = process.env): StepIoSpec {
  const raw = env[STEP_IO_ENV];
  if (!raw) throw new CapstanError('CAPSTAN_K8S_STEP_IO_INVALID', `${STEP_IO_ENV} is not set; step-io runs inside a Capstan Kubernetes step`);
  try {
    const spec = JSON.parse(raw) as StepIoSpec;
    if (typeof spec.outputPrefix !== 'string' || !Array.isArray(spec.outputs)) throw new Error('outputPrefix and outputs are required');
    return { codePrefix: spec.codePrefix ?? null, inputs: spec.inputs ?? {}, outputs: spec.outputs, modelOutput: !!spec.modelOutput, outputPrefix: spec.outputPrefix, hyperparameters: spec.hyperparameters ?? {} };
  } catch (err) {
    throw new CapstanError('CAPSTAN_K8S_STEP_IO_INVALID', `${STEP_IO_ENV} is not a valid step-io spec: ${(err as Error).message}`, { cause: err });
  }
}

/** Init container: downloads the code snapshot and inputs and writes the hyperparameters file. */
export async function stageIn(store: ArtifactStore, spec: StepIoSpec, root: string): Promise<void> {
  const dirs = stepDirs(root);
  for (const d of [dirs.code, dirs.input, dirs.output, dirs.model]) await mkdir(d, { recursive: true });
  if (spec.codePrefix) await store.downloadDirectory(spec.codePrefix, dirs.code);
  for (const [channel, key] of Object.entries(spec.inputs)) await downloadInput(store, channel, key, path.join(dirs.input, channel));
  for (const o of spec.outputs) await mkdir(path.join(dirs.output, o), { recursive: true });
  await writeFile(dirs.hyperparameters, JSON.stringify(spec.hyperparameters, null, 2));
}

/**
 * Finishing container: waits until the step command wrote its exit code, then uploads the outputs
 * after a zero exit. Returns the step's exit code; it exits 0 itself either way, because the
 * executor reads the step container's own status for the verdict.
 */
export async function stageOut(store: ArtifactStore, spec: StepIoSpec, root: string, pollMs = 500): Promise<number> {
  const exitFile = path.join(root, EXIT_FILE);
  let text: string | undefined;
  while (text === undefined) {
    text = await readFile(exitFile, 'utf8').catch(() => undefined);
    if (text === undefined) await sleep(pollMs);
  }
  const code = Number(text.trim());
  if (code !== 0) return code;
  const dirs = stepDirs(root);
  const named: [string, string][] = spec.outputs.map((o) => [o, path.join(dirs.output, o)]);
  if (spec.modelOutput) named.push(['model', dirs.model]);
  for (const [name, dir] of named) {
    // An empty output is left unuploaded; the executor then reports it missing, as the local executor does.
    if ((await readdir(dir).catch(() => [])).length === 0) continue;
    await store.uploadDirectory(dir, `${spec.outputPrefix}${name}/`);
  }
  return 0;
}
