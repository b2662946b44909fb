import { existsSync, readFileSync } from 'node:fs';

/** True while process `pid` runs; a zombie waiting for its reaper counts as ended (Linux /proc). */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/** Kills the process group whose leader's pid a step wrote to `pidFile`, if the file and the group exist. */
export function killGroupFromPidFile(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  try {
    process.kill(-Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
  } catch {
    // already finished
  }
}
