import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CapstanError } from '../core/errors.js';
import { fsReason } from '../core/file-errors.js';
import type { ResourceFile } from './resource-document.js';

const SKIP = new Set(['node_modules', '__pycache__', '.venv']);

/**
 * The resource files a user named: a file, or every `*.yaml` / `*.yml` under a directory (dot-folders
 * and dependency folders skipped), in name order. `shownRoot` is what paths are shown relative to.
 */
export async function readResourceFiles(target: string, shownRoot = process.cwd()): Promise<ResourceFile[]> {
  let info;
  try {
    info = await stat(target);
  } catch (err) {
    throw new CapstanError('CAPSTAN_GITOPS_INVALID', `cannot read ${target}: ${fsReason(err)}`, { cause: err, fields: { path: target } });
  }
  const files: string[] = [];
  if (info.isDirectory()) {
    const walk = async (dir: string): Promise<void> => {
      const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
      for (const e of entries) {
        if (e.name.startsWith('.') || SKIP.has(e.name)) continue;
        const abs = path.join(dir, e.name);
        if (e.isDirectory()) await walk(abs);
        else if (e.isFile() && /\.ya?ml$/i.test(e.name)) files.push(abs);
      }
    };
    await walk(target);
  } else files.push(target);
  const out: ResourceFile[] = [];
  for (const f of files) {
    const abs = path.resolve(f);
    const shown = path.relative(shownRoot, abs) || path.basename(abs);
    out.push({ path: shown.startsWith('..') ? abs : shown, text: await readFile(abs, 'utf8'), baseDir: path.dirname(abs) });
  }
  return out;
}
