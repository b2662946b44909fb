import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * `mkdir -p` one component at a time. Node's recursive mkdir spins forever (with the CPU busy) on a
 * path under a pseudo file system such as `/proc/nope`; creating each missing component on its own
 * fails at once with the real reason. Throws the file-system error (see `fsReason`), or one with
 * code ENOTDIR when a component is a file. `mode` applies to the directories it creates.
 */
export function makeDirectory(dir: string, mode?: number): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  let current = target;
  for (;;) {
    const st = statSync(current, { throwIfNoEntry: false });
    if (st) {
      if (!st.isDirectory()) {
        throw Object.assign(new Error(`${current} is not a directory`), { code: current === target ? 'EEXIST' : 'ENOTDIR', path: current });
      }
      break;
    }
    missing.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const d of missing) {
    try {
      mkdirSync(d, mode === undefined ? undefined : { mode });
    } catch (err) {
      // Another process may create the same directory at the same moment.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d, { throwIfNoEntry: false })?.isDirectory()) throw err;
    }
  }
}
