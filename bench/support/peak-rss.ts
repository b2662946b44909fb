import { readFileSync } from 'node:fs';

/** A live process's peak resident set (VmHWM) in MB; 0 once it has exited or off Linux. */
export function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
