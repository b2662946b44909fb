import { writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Points of a registration where `registry.testPauseAt` can stop it. */
export type RegistrationPoint = 'reserved' | 'uploading' | 'uploaded';

/** Called at each point of a registration; resolves to let it go on. */
export type RegistrationPause = (point: RegistrationPoint) => Promise<void>;

/**
 * Test only (`registry.testPauseAt`): at the configured point the registration writes
 * `<home>/registry-paused-<point>` and never goes on, so a crash test can kill the process at exactly
 * that point instead of guessing with sleeps. Every other point passes straight through.
 */
export function registrationPause(home: string, at: RegistrationPoint | undefined): RegistrationPause | undefined {
  if (!at) return undefined;
  return async (point) => {
    if (point !== at) return;
    await writeFile(path.join(home, `registry-paused-${point}`), String(process.pid));
    // A timer keeps the process alive while it waits to be killed.
    await new Promise(() => setInterval(() => {}, 60_000));
  };
}
