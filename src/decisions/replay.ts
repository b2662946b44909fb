import { CapstanError } from '../core/errors.js';
import type { CompiledTask, CompiledUseCase } from './compile-usecase.js';
import type { ReplayOptions, ReplayReport } from './decision-types.js';
import { decide, type DecisionSnapshot, type TaskRecord } from './run-decision.js';
import type { SqlDecisionStore } from './sql-decision-store.js';

const PAGE = 1000;

/** Tasks in an order where each comes after those it reads. */
function topological(tasks: CompiledTask[]): CompiledTask[] {
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

/**
 * Re-evaluates a use case's recorded champion decisions in a time range against version `uc`: same
 * inputs and model outputs, that version's CEL tasks, thresholds and rules. Reports how many outcomes
 * change, in which direction, with examples. CAPSTAN_DECISIONS_REPLAY_EMPTY when the range holds no record.
 */
export async function replayRecords(store: SqlDecisionStore, uc: CompiledUseCase, options: ReplayOptions): Promise<ReplayReport> {
  const sinceMs = Date.parse(options.since);
  const untilMs = options.until === undefined ? Date.now() : Date.parse(options.until);
  if (Number.isNaN(sinceMs) || Number.isNaN(untilMs)) throw new CapstanError('CAPSTAN_DECISIONS_QUERY_INVALID', `since and until must be ISO times, got ${JSON.stringify(options.since)} and ${JSON.stringify(options.until)}`);
  const limit = options.limit ?? 100_000;
  const maxExamples = options.examples ?? 10;
  const order = topological(uc.tasks);
  const report: ReplayReport = {
    usecase: uc.name,
    version: Number(options.version),
    since: new Date(sinceMs).toISOString(),
    until: new Date(untilMs).toISOString(),
    records: 0,
    skipped: 0,
    unchanged: 0,
    changed: 0,
    detailsChanged: 0,
    transitions: {},
    examples: [],
    before: {},
    after: {},
    recordsPerSecond: 0,
  };
  const started = performance.now();
  let afterId = '';
  while (report.records < limit) {
    const page = await store.replayPage(uc.name, sinceMs, untilMs, afterId, Math.min(PAGE, limit - report.records));
    if (page.length === 0) break;
    afterId = page[page.length - 1].id;
    // Rules of a page are evaluated together: the JDM engine evaluates on native threads.
    const outcomes = await Promise.all(
      page.map(async (row) => {
        const snapshot = JSON.parse(row.snapshot) as DecisionSnapshot;
        const tasks = snapshot.error ? undefined : replayTasks(uc, order, snapshot);
        return { row, snapshot, again: tasks ? await decide(uc, { input: snapshot.input, subject: snapshot.subject, thresholds: uc.thresholds, tasks }, false) : undefined };
      }),
    );
    for (const { row, snapshot, again } of outcomes) {
      report.records++;
      if (!again) {
        report.skipped++;
        continue;
      }
      const from = snapshot.outcome ?? 'error';
      const to = again.outcome ?? 'error';
      report.before[from] = (report.before[from] ?? 0) + 1;
      report.after[to] = (report.after[to] ?? 0) + 1;
      if (from === to) {
        report.unchanged++;
        if (JSON.stringify([snapshot.reasons, snapshot.output]) !== JSON.stringify([again.reasons, again.output])) report.detailsChanged++;
        continue;
      }
      report.changed++;
      const key = `${from} → ${to}`;
      report.transitions[key] = (report.transitions[key] ?? 0) + 1;
      if (report.examples.length < maxExamples) report.examples.push({ id: row.id, from: snapshot.outcome, to: again.outcome, reasons: again.reasons });
    }
  }
  if (report.records === 0) {
    throw new CapstanError('CAPSTAN_DECISIONS_REPLAY_EMPTY', `use case ${uc.name} has no recorded decisions from ${report.since} to ${report.until}; widen --since/--until`, { fields: { usecase: uc.name, since: report.since, until: report.until } });
  }
  const seconds = (performance.now() - started) / 1000;
  report.recordsPerSecond = Math.round(report.records / Math.max(seconds, 1e-6));
  return report;
}
