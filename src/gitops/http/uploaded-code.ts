import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CapstanError } from '../../core/errors.js';

/** Uploaded code directories written to disk for one apply, removed by `dispose`. */
export interface UploadedCode {
  /** `<file>#<code>` → directory. */
  dirs: Map<string, string>;
  dispose(): Promise<void>;
}

/** Writes `{ "<file>#<code>": { relative path: base64 } }` into a temp directory, refusing unsafe paths. */
export async function writeUploadedCode(code: Record<string, Record<string, string>>): Promise<UploadedCode> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'capstan-gitops-'));
  const dirs = new Map<string, string>();
  const dispose = () => rm(root, { recursive: true, force: true });
  try {
    let n = 0;
    for (const [key, files] of Object.entries(code)) {
      const dir = path.join(root, String(n++));
      await mkdir(dir, { recursive: true });
      for (const [rel, b64] of Object.entries(files)) {
        const parts = rel.split('/');
        if (rel.startsWith('/') || parts.some((p) => p === '..' || p === '' || p === '.') || rel.includes('\\') || rel.includes('\0')) {
          throw new CapstanError('CAPSTAN_PIPELINE_CODE_INVALID', `code file path ${JSON.stringify(rel.slice(0, 100))} is not a safe relative path`);
        }
        await mkdir(path.join(dir, ...parts.slice(0, -1)), { recursive: true });
        await writeFile(path.join(dir, ...parts), Buffer.from(b64, 'base64'));
      }
      dirs.set(key, dir);
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  return { dirs, dispose };
}
