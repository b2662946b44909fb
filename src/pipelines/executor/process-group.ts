import { readdirSync, readFileSync } from 'node:fs';

/** Signals a step's whole process group (the step may have started children of its own). */
export function signalGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, sig);
  } catch {
    // already gone
  }
}

/**
 * The pids whose environment marks them as this step's (Linux /proc): in process group `pgid`, or
 * anywhere on the host when the group was never recorded (the scheduler died between spawning the
 * step and storing its group).
 */
function attemptProcesses(pgid: number | null, executionId: string, step: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 5 of stat is the process group; the command name (field 2) may hold spaces, so split after it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (pgid !== null && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (env.includes(`CAPSTAN_EXECUTION_ID=${executionId}`) && env.includes(`CAPSTAN_STEP=${step}`)) found.push(Number(entry));
    } catch {
      // ended meanwhile, or not ours to read
    }
  }
  return found;
}

/**
 * Kills what is left of an abandoned attempt's process group (its scheduler was killed, the group
 * lives on). A process group id can be reused once the group is gone, so on Linux only a group whose
 * processes carry the attempt's CAPSTAN_EXECUTION_ID and CAPSTAN_STEP is killed; elsewhere, where
 * that cannot be checked, nothing is. Without a recorded group (`null`), every process of this host
 * carrying that environment is killed. Returns the number of processes found.
 */
export function killOrphanGroup(pgid: number | null, executionId: string, step: string): number {
  if (process.platform !== 'linux') return 0;
  let procs: number[];
  try {
    procs = attemptProcesses(pgid, executionId, step);
  } catch {
    return 0;
  }
  if (procs.length === 0) return 0;
  if (pgid !== null) signalGroup(pgid, 'SIGKILL');
  // A member that left the group (setsid) is still the attempt's.
  for (const p of procs) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone with the group
    }
  }
  return procs.length;
}
