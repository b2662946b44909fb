import type { ChildProcess } from 'node:child_process';

/** Sends `signal` (default SIGTERM) and resolves when the process has exited; SIGKILL after graceMs (default 15 s). */
export function stopProcess(child: ChildProcess, options: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(options.signal ?? 'SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), options.graceMs ?? 15_000).unref();
  });
}
