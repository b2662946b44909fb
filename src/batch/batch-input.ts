import { CapstanError, isCapstanError } from '../core/errors.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { assertVersionFilesWritable } from '../registry/index.js';

/** One input object of a batch job. */
export interface BatchInputFile {
  key: string;
  /** Its name relative to the input location, which names its output (`<output>/<name>.out`). */
  name: string;
  size: number;
}

function bad(code: 'CAPSTAN_BATCH_INPUT_INVALID' | 'CAPSTAN_BATCH_OUTPUT_INVALID', detail: string, uri: string, cause?: unknown): CapstanError {
  return new CapstanError(code, detail, { fields: { uri }, cause, retryable: false });
}

/** The key of a location in the store; a URI outside the store (or malformed) answers `code`. */
export function locationKey(artifacts: ArtifactStore, uri: string, code: 'CAPSTAN_BATCH_INPUT_INVALID' | 'CAPSTAN_BATCH_OUTPUT_INVALID'): string {
  const what = code === 'CAPSTAN_BATCH_INPUT_INVALID' ? 'input' : 'output';
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw bad(code, `the ${what} ${JSON.stringify(uri)} is not a URI in the artifact store (${artifacts.rootUri})`, uri);
  try {
    return artifacts.keyFor(uri.replace(/\/+$/, ''));
  } catch (err) {
    throw bad(code, `the ${what} ${uri} is outside the artifact store (${artifacts.rootUri})`, uri, err);
  }
}

/**
 * Refuses an output prefix a job must not write into: the store's root, the jobs' own staging area
 * (`batch/`, `async/`), and a registered model version's package (immutable).
 */
export function assertOutputPrefix(key: string, uri: string, code: 'CAPSTAN_BATCH_OUTPUT_INVALID' | 'CAPSTAN_ASYNC_OPTIONS_INVALID'): void {
  const top = key.split('/')[0];
  if (key === '' || top === 'batch') throw new CapstanError(code, `${uri} is ${key === '' ? 'the root of the artifact store' : 'inside the batch staging area (batch/)'}; choose a prefix of its own`, { fields: { uri, field: 'output' }, retryable: false });
  try {
    assertVersionFilesWritable(`${key}/x`);
  } catch (err) {
    throw new CapstanError(code, `${uri} is inside a registered model version, which cannot change`, { fields: { uri, field: 'output' }, cause: err, retryable: false });
  }
}

/**
 * The objects an input location names: the object itself, or every object under it read as a
 * directory, sorted by key. Nothing readable there is CAPSTAN_BATCH_INPUT_INVALID, so a job with no
 * input is never started.
 */
export async function listBatchInput(artifacts: ArtifactStore, uri: string): Promise<BatchInputFile[]> {
  const key = locationKey(artifacts, uri, 'CAPSTAN_BATCH_INPUT_INVALID');
  try {
    const one = uri.endsWith('/') ? undefined : await artifacts.stat(key);
    if (one) return [{ key: one.key, name: one.key.split('/').pop()!, size: one.size }];
    const prefix = `${key}/`;
    const many = (await artifacts.list(prefix)).filter((f) => !f.key.endsWith('/'));
    if (many.length === 0) throw bad('CAPSTAN_BATCH_INPUT_INVALID', `nothing to read at ${uri}: no object and no objects under it`, uri);
    return many.map((f) => ({ key: f.key, name: f.key.slice(prefix.length), size: f.size }));
  } catch (err) {
    if (isCapstanError(err) && err.code === 'CAPSTAN_BATCH_INPUT_INVALID') throw err;
    throw bad('CAPSTAN_BATCH_INPUT_INVALID', `cannot read the input ${uri}: ${(err as Error).message}`, uri, err);
  }
}
