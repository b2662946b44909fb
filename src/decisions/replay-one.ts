import type { CompiledTask, CompiledUseCase } from './compile-usecase.js';
import { evaluateRulesMany, type RuleContext, type RuleResult } from './evaluate-rules.js';
import type { DecisionSnapshot, TaskRecord } from './run-decision.js';

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
 * The task outputs `uc` would see for a recorded decision, by task name, without calling any model:
 * recorded outputs for model, feature, lookup and HTTP tasks, CEL tasks computed again with `uc`'s
 * thresholds. Undefined when `uc` needs a task the record does not have.
 */
function replayTasks(uc: CompiledUseCase, order: CompiledTask[], snapshot: ReplaySource): Record<string, unknown> | undefined {
  const recorded = new Map(snapshot.tasks.map((t) => [t.name, t]));
  const outputs: Record<string, unknown> = {};
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
      continue;
    }
    const r = recorded.get(task.name);
    if (!r || (r.status !== 'ok' && r.status !== 'defaulted') || r.type !== task.type) return undefined;
    outputs[task.name] = r.output;
  }
  return outputs;
}

/** What replay reads of a recorded decision: its snapshot, or the projection of it kept beside it. */
type ReplaySource = Pick<DecisionSnapshot, 'input' | 'outcome' | 'reasons' | 'output' | 'error'> & { tasks: Pick<TaskRecord, 'name' | 'type' | 'status' | 'output'>[] };

/** The part of a snapshot replay reads, as stored in the record's `replay` column: about a fifth of the snapshot's bytes. */
export function replayProjection(s: DecisionSnapshot): string {
  const source: ReplaySource = {
    input: s.input,
    tasks: s.tasks.map((t) => ({ name: t.name, type: t.type, status: t.status, output: t.output })),
    outcome: s.outcome,
    reasons: s.reasons,
    output: s.output,
    ...(s.error ? { error: s.error } : {}),
  };
  return JSON.stringify(source);
}

/** Equality of two JSON values, key order aside. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** How a record's outcome compares with what `uc`'s rules decide for it again (an error decides no outcome). */
function compared(id: string, snapshot: ReplaySource, again: RuleResult | Error | undefined): ReplayedRecord {
  if (!again) return { id, from: snapshot.outcome };
  const failed = again instanceof Error;
  const to = failed ? null : again.outcome;
  const reasons = failed ? [] : again.reasons;
  const detailsChanged = to === snapshot.outcome && !(sameJson(snapshot.reasons, reasons) && sameJson(snapshot.output, failed ? {} : again.output));
  return { id, from: snapshot.outcome, to, reasons, detailsChanged };
}

/**
 * Records per rules call: large enough that the engine's per-call cost is shared, small enough that
 * a page is a few calls.
 */
const CHUNK = 250;

/** Replays a chunk of stored snapshots or their replay projections (JSON text) against `uc` with one rules evaluation for all of them, calling no model. */
async function replayChunk(uc: CompiledUseCase, order: CompiledTask[], rows: { id: string; snapshot: string }[]): Promise<ReplayedRecord[]> {
  const snapshots = rows.map((r) => JSON.parse(r.snapshot) as ReplaySource);
  const contexts: RuleContext[] = [];
  const at = new Array<number>(rows.length).fill(-1);
  snapshots.forEach((snapshot, i) => {
    const tasks = snapshot.error ? undefined : replayTasks(uc, order, snapshot);
    if (tasks) at[i] = contexts.push({ input: snapshot.input, thresholds: uc.thresholds, tasks }) - 1;
  });
  const results = await evaluateRulesMany(uc.rules, contexts);
  return rows.map((r, i) => compared(r.id, snapshots[i], at[i] < 0 ? undefined : results[at[i]]));
}

/** Replays a page of stored snapshots against `uc`, in chunks evaluated together; results in the page's order. */
export async function replayRows(uc: CompiledUseCase, order: CompiledTask[], rows: { id: string; snapshot: string }[]): Promise<ReplayedRecord[]> {
  const chunks: Promise<ReplayedRecord[]>[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) chunks.push(replayChunk(uc, order, rows.slice(i, i + CHUNK)));
  return (await Promise.all(chunks)).flat();
}
