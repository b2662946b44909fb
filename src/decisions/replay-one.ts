import type { CompiledTask, CompiledUseCase } from './compile-usecase.js';
import { decideMany, type DecisionSnapshot, type TaskRecord } from './run-decision.js';

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

/** What replaying one record needs: the record as stored, and the tasks `uc` sees (undefined when it cannot be replayed). */
interface Prepared {
  id: string;
  snapshot: DecisionSnapshot;
  tasks?: TaskRecord[];
}

function prepare(uc: CompiledUseCase, order: CompiledTask[], id: string, snapshotText: string): Prepared {
  const snapshot = JSON.parse(snapshotText) as DecisionSnapshot;
  return { id, snapshot, tasks: snapshot.error ? undefined : replayTasks(uc, order, snapshot) };
}

/** How a record's outcome compares with what `uc` decided for it again. */
function compared(p: Prepared, again: DecisionSnapshot | undefined): ReplayedRecord {
  const { id, snapshot } = p;
  if (!again) return { id, from: snapshot.outcome };
  const detailsChanged = again.outcome === snapshot.outcome && JSON.stringify([snapshot.reasons, snapshot.output]) !== JSON.stringify([again.reasons, again.output]);
  return { id, from: snapshot.outcome, to: again.outcome, reasons: again.reasons, detailsChanged };
}

/**
 * Records per rules call: large enough that the engine's per-call cost is shared, small enough that
 * this thread parses the next chunk while the engine's threads evaluate the previous one.
 */
const CHUNK = 250;

/** Replays a chunk of stored snapshots against `uc` with one rules evaluation for all of them. */
async function replayChunk(uc: CompiledUseCase, order: CompiledTask[], rows: { id: string; snapshot: string }[]): Promise<ReplayedRecord[]> {
  const prepared = rows.map((r) => prepare(uc, order, r.id, r.snapshot));
  const runnable = prepared.filter((p) => p.tasks);
  const again = await decideMany(
    uc,
    runnable.map((p) => ({ input: p.snapshot.input, subject: p.snapshot.subject, thresholds: uc.thresholds, tasks: p.tasks! })),
  );
  const byRecord = new Map(runnable.map((p, i) => [p, again[i]]));
  return prepared.map((p) => compared(p, byRecord.get(p)));
}

/** Replays a page of stored snapshots against `uc`, in chunks evaluated together; results in the page's order. */
export async function replayRows(uc: CompiledUseCase, order: CompiledTask[], rows: { id: string; snapshot: string }[]): Promise<ReplayedRecord[]> {
  const chunks: Promise<ReplayedRecord[]>[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) chunks.push(replayChunk(uc, order, rows.slice(i, i + CHUNK)));
  return (await Promise.all(chunks)).flat();
}
