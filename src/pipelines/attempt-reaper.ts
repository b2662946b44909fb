import { hostname } from 'node:os';
import { killOrphanGroup } from './executor/process-group.js';
import type { AttemptRow } from './sql-pipeline-store.js';
import type { StepServices } from './steps/step-handler.js';

/**
 * Cleans up after an attempt whose runner died or lost its lease, before the step runs again: kills
 * what is left of its process group when it ran on this host (only processes that carry the
 * attempt's environment), and closes the registry run it kept as `killed`. Both are idempotent, so
 * a restart that dies in the middle simply does them again.
 */
export async function reapAttempt(executionId: string, step: string, row: AttemptRow | undefined, services: StepServices): Promise<void> {
  if (!row) return;
  // The group is stored just after the spawn, so a scheduler killed in between leaves none: then the
  // step's processes are found by the environment they carry.
  if (row.owner?.split(':')[0] === hostname()) {
    const killed = killOrphanGroup(row.pgid ?? null, executionId, step);
    if (killed > 0) services.logger.warn({ executionId, step, pgid: row.pgid, processes: killed }, 'killed the orphaned process group of an interrupted step attempt');
  }
  const registry = row.runId ? services.registry?.() : undefined;
  if (registry && row.runId) {
    try {
      const run = await registry.getRun(row.runId);
      if (run.status === 'running') await registry.updateRun(row.runId, { status: 'killed' });
    } catch (err) {
      services.logger.warn({ err, runId: row.runId }, 'could not close the registry run of an interrupted step attempt');
    }
  }
}
