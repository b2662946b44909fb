import type { CompiledTask, CompiledUseCase } from './compile-usecase.js';
import { decide, type DecisionSnapshot, type TaskRecord } from './run-decision.js';

/** One record replayed: what it decided then and what the version decides now; `to` undefined when it could not be replayed. */
export interface ReplayedRecord {
  id: string;
  from: string | null;
  to?: string | null;
  reasons?: string[];
  /** Same outcome, but other reasons or output fields. */
  detailsChanged?: boolean;
}

/** Tasks in an order where each comes after those it reads. */
export function topological(tasks: CompiledTask[]): CompiledTask[] {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const out: CompiledTask[] = [];
  const seen = new Set<string>();
  const visit = (t: CompiledTask) => {
    if (seen.has(t.name)) return;
    seen.add(t.name);
    for (const d of t.dependsOn) visit(byName.get(d)!);
    out.push(t);
  };
  tasks.forEach(visit);
  return out;
}

/**
 * The task outputs `uc` would see for a recorded decision, without calling any model: recorded
 * outputs for model, feature, lookup and HTTP tasks, CEL tasks computed again with `uc`'s thresholds.
 * Undefined when `uc` needs a task the record does not have.
 */
function replayTasks(uc: CompiledUseCase, order: CompiledTask[], snapshot: DecisionSnapshot): TaskRecord[] | undefined {
  const recorded = new Map(snapshot.tasks.map((t) => [t.name, t]));
  const outputs: Record<string, unknown> = {};
  const tasks: TaskRecord[] = [];
  for (const task of order) {
    if (task.type === 'cel') {
      let output: unknown;
      try {
        output = task.exprs.expression.evaluate({ input: snapshot.input, thresholds: uc.thresholds, tasks: outputs }, 'CAPSTAN_DECISIONS_TASK_FAILED', `task ${task.name}`);
      } catch {
        if (task.onFailure !== 'default') return undefined;
        output = task.default;
      }
      outputs[task.name] = output;
      tasks.push({ name: task.name, type: 'cel', status: 'ok', output, attempts: 1, latencyMs: 0 });
      continue;
    }
    const r = recorded.get(task.name);
    if (!r || (r.status !== 'ok' && r.status !== 'defaulted') || r.type !== task.type) return undefined;
    outputs[task.name] = r.output;
    tasks.push(r);
  }
  return tasks;
}

/** Replays one stored snapshot (its JSON text) against `uc`, calling no model. */
export async function replayOne(uc: CompiledUseCase, order: CompiledTask[], id: string, snapshotText: string): Promise<ReplayedRecord> {
  const snapshot = JSON.parse(snapshotText) as DecisionSnapshot;
  const tasks = snapshot.error ? undefined : replayTasks(uc, order, snapshot);
  if (!tasks) return { id, from: snapshot.outcome };
  const again = await decide(uc, { input: snapshot.input, subject: snapshot.subject, thresholds: uc.thresholds, tasks }, false);
  const detailsChanged = again.outcome === snapshot.outcome && JSON.stringify([snapshot.reasons, snapshot.output]) !== JSON.stringify([again.reasons, again.output]);
  return { id, from: snapshot.outcome, to: again.outcome, reasons: again.reasons, detailsChanged };
}

/** Evaluations in flight at once: enough to keep ZEN's native threads busy, few enough not to queue thousands of tasks on them (which measured slower). */
const IN_FLIGHT = 64;

/** Replays a page of stored snapshots against `uc`, a bounded number at a time; results in the page's order. */
export async function replayRows(uc: CompiledUseCase, order: CompiledTask[], rows: { id: string; snapshot: string }[]): Promise<ReplayedRecord[]> {
  const results = new Array<ReplayedRecord>(rows.length);
  let next = 0;
  const lane = async () => {
    while (next < rows.length) {
      const i = next++;
      results[i] = await replayOne(uc, order, rows[i].id, rows[i].snapshot);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, rows.length) }, lane));
  return results;
}
