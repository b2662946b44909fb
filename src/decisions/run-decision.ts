import { CapstanError, isCapstanError } from '../core/errors.js';
import type { CompiledTask, CompiledUseCase } from './compile-usecase.js';
import { evaluateRules, type RuleResult } from './evaluate-rules.js';
import { errorSummary, runTaskAttempt, type TaskAttemptResult, type TaskRunnerDeps, type TaskScope } from './task-runners.js';

/** One task as the snapshot keeps it: what it asked, what it got, how long it took, and what rules saw. */
export interface TaskRecord extends Partial<TaskAttemptResult> {
  name: string;
  type: CompiledTask['type'];
  /** `ok`; `defaulted`: it failed and its default was used; `failed`: it failed the decision; `skipped`: the decision failed first. */
  status: 'ok' | 'defaulted' | 'failed' | 'skipped';
  output: unknown;
  attempts: number;
  /** When the task started, in ms after the decision started (shows which tasks overlapped). */
  startMs?: number;
  latencyMs: number;
  error?: { code: string; message: string };
}

/** Everything a decision was made from and what it decided: replay re-evaluates rules from this alone. */
export interface DecisionSnapshot {
  input: Record<string, unknown>;
  subject: string | null;
  thresholds: Record<string, unknown>;
  tasks: TaskRecord[];
  rules: { engine: 'cel' | 'jdm'; trace: unknown[] } | null;
  outcome: string | null;
  reasons: string[];
  output: Record<string, unknown>;
  error?: { code: string; message: string };
}

class TaskTimeout extends CapstanError {}

/** Races `work` with a timer; the timer fires `onTimeout` (which aborts the attempt's signal). */
function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function runTask(task: CompiledTask, scope: TaskScope, deps: TaskRunnerDeps, decisionStart: number): Promise<TaskRecord> {
  const started = performance.now();
  const startMs = round(started - decisionStart);
  let lastError: unknown;
  let attempts = 0;
  for (let attempt = 0; attempt <= task.retries && !scope.signal.aborted; attempt++) {
    attempts++;
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    scope.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await withTimeout(runTaskAttempt(task, { ...scope, signal: controller.signal }, deps), task.timeoutMs, () => {
        controller.abort();
        return new TaskTimeout('CAPSTAN_DECISIONS_TASK_TIMEOUT', `task ${task.name} did not answer within ${task.timeoutMs} ms`, { fields: { task: task.name } });
      });
      return { name: task.name, type: task.type, status: 'ok', ...result, attempts, startMs, latencyMs: round(performance.now() - started) };
    } catch (err) {
      lastError = err;
      // Bad input or an unknown endpoint will not get better on a second try.
      if (isCapstanError(err) && err.status >= 400 && err.status < 500 && err.code !== 'CAPSTAN_DECISIONS_TASK_FAILED') break;
    } finally {
      scope.signal.removeEventListener('abort', onAbort);
    }
  }
  const base = { name: task.name, type: task.type, attempts, startMs, latencyMs: round(performance.now() - started), error: errorSummary(lastError) };
  if (task.onFailure === 'default') return { ...base, status: 'defaulted', output: task.default };
  return { ...base, status: 'failed', output: null };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** The error a failed task fails its decision with: a timeout stays a timeout. */
function taskFailure(record: TaskRecord): CapstanError {
  const code = record.error?.code === 'CAPSTAN_DECISIONS_TASK_TIMEOUT' ? 'CAPSTAN_DECISIONS_TASK_TIMEOUT' : 'CAPSTAN_DECISIONS_TASK_FAILED';
  return new CapstanError(code, `task ${record.name} failed after ${record.attempts} attempt(s): ${record.error?.message ?? 'unknown error'}`, { fields: { task: record.name, cause: record.error } });
}

/**
 * Runs one decision: every task as soon as the tasks it reads finished (independent tasks at once),
 * each with its timeout, retries and failure policy, all within the use case's deadline; then the
 * rules. Never throws for a task or rule failure: the snapshot carries the error, so a failed
 * decision is recorded like any other.
 */
export async function runDecision(uc: CompiledUseCase, input: Record<string, unknown>, deps: TaskRunnerDeps): Promise<DecisionSnapshot> {
  const decisionStart = performance.now();
  const subjectValue = uc.subject?.evaluate({ input, thresholds: uc.thresholds, tasks: {} }, 'CAPSTAN_DECISIONS_INPUT_INVALID', 'input.subject');
  const subject = subjectValue === undefined || subjectValue === null ? null : String(subjectValue);
  const outputs: Record<string, unknown> = {};
  const records = new Map<string, TaskRecord>();
  const deadline = new AbortController();
  const scope: TaskScope = { usecase: uc.name, subject, input, thresholds: uc.thresholds, tasks: outputs, signal: deadline.signal };
  const running = new Map<string, Promise<TaskRecord>>();
  const started = new Set<string>();
  let failure: CapstanError | undefined;
  const start = (task: CompiledTask): Promise<TaskRecord> => {
    const existing = running.get(task.name);
    if (existing) return existing;
    const p = (async () => {
      const before = await Promise.all(task.dependsOn.map((d) => start(uc.tasks.find((t) => t.name === d)!)));
      if (failure || deadline.signal.aborted || before.some((r) => r.status === 'failed' || r.status === 'skipped')) {
        return { name: task.name, type: task.type, status: 'skipped', output: null, attempts: 0, latencyMs: 0 } satisfies TaskRecord;
      }
      started.add(task.name);
      const record = await runTask(task, scope, deps, decisionStart);
      records.set(task.name, record);
      outputs[task.name] = record.output;
      if (record.status === 'failed') failure ??= taskFailure(record);
      return record;
    })();
    running.set(task.name, p);
    return p;
  };
  let timer: NodeJS.Timeout | undefined;
  const deadlineHit = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      failure ??= new CapstanError('CAPSTAN_DECISIONS_DEADLINE_EXCEEDED', `use case ${uc.name} did not decide within ${uc.deadlineMs} ms`);
      deadline.abort();
      resolve();
    }, uc.deadlineMs);
  });
  await Promise.race([Promise.all(uc.tasks.map(start)), deadlineHit]);
  clearTimeout(timer);
  // A task still running when the deadline hit failed with the decision; one never started was skipped.
  const tasks = uc.tasks.map(
    (t): TaskRecord =>
      records.get(t.name) ??
      (started.has(t.name) && failure
        ? { name: t.name, type: t.type, status: 'failed', output: null, attempts: 1, latencyMs: round(performance.now() - decisionStart), error: errorSummary(failure) }
        : { name: t.name, type: t.type, status: 'skipped', output: null, attempts: 0, latencyMs: 0 }),
  );
  const base = { input, subject, thresholds: uc.thresholds, tasks };
  if (failure) return { ...base, rules: null, outcome: null, reasons: [], output: {}, error: errorSummary(failure) };
  return decide(uc, base);
}

/** Evaluates the rules over finished tasks: the last part of a decision. */
export async function decide(uc: CompiledUseCase, base: Pick<DecisionSnapshot, 'input' | 'subject' | 'thresholds' | 'tasks'>): Promise<DecisionSnapshot> {
  const tasks = Object.fromEntries(base.tasks.map((t) => [t.name, t.output]));
  let result: RuleResult;
  try {
    result = await evaluateRules(uc.rules, { input: base.input, thresholds: base.thresholds, tasks });
  } catch (err) {
    return { ...base, rules: null, outcome: null, reasons: [], output: {}, error: errorSummary(err) };
  }
  return { ...base, rules: { engine: uc.rules.engine, trace: result.trace }, outcome: result.outcome, reasons: result.reasons, output: result.output };
}
