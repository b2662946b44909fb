import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the benches spawn `src/cli/entry.ts`, helper scripts and node_modules binaries from here. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
