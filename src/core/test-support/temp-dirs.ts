import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Scratch directories for one test file: `make` creates `capstan-<label>-*` in the OS temp dir, `removeAll` deletes them. */
export class TempDirs {
  private readonly dirs: string[] = [];

  /** A new empty directory. */
  make(label: string): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), `capstan-${label}-`));
    this.dirs.push(dir);
    return dir;
  }

  /** Removes every directory made so far. */
  removeAll(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}
