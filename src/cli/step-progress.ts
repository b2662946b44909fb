import type { ExecutionRecord, StepRecord } from '../pipelines/index.js';

/** The symbol shown for each step state. */
export const STEP_SYMBOL: Record<string, string> = { running: '▶', waiting: '…', succeeded: '✓', failed: '✗', skipped: '–', cancelled: '■' };

/** One line for a step's new state: symbol, name, state, duration, cache hit, metrics and why it failed. */
export function stepLine(step: StepRecord, metricNames?: string[]): string {
  const took = step.durationMs != null ? ` ${(step.durationMs / 1000).toFixed(1)}s` : '';
  const cached = step.cached ? ' (cached)' : '';
  const metrics = Object.entries(step.metrics ?? {})
    .filter(([k]) => !metricNames || metricNames.includes(k))
    .map(([k, v]) => ` ${k}=${Number(v.toFixed(4))}`)
    .join('');
  const why = step.state === 'failed' && step.error ? ` — ${step.error.message}` : '';
  return `${STEP_SYMBOL[step.state] ?? '·'} ${step.name.padEnd(16)} ${step.state}${took}${cached}${metrics}${why}`;
}

/** Remembers the state last reported for each step, so a poller reports each change once. */
export class StepChanges {
  private readonly seen = new Map<string, string>();

  /** The steps of `exec` whose state moved since the last call (pending steps are not news). */
  changed(exec: ExecutionRecord): StepRecord[] {
    const out: StepRecord[] = [];
    for (const step of exec.steps) {
      if (step.state === 'pending' || this.seen.get(step.name) === step.state) continue;
      this.seen.set(step.name, step.state);
      out.push(step);
    }
    return out;
  }
}

/**
 * Writes a line each time a step of the execution changes state, until `done` settles: the live view of
 * `pipeline run --wait`, whether the execution runs in this process or on a server.
 */
export async function reportStepChanges(read: () => Promise<ExecutionRecord>, done: Promise<unknown>, write: (line: string) => void, intervalMs = 500): Promise<void> {
  const changes = new StepChanges();
  let finished = false;
  const settled = done.then(
    () => (finished = true),
    () => (finished = true),
  );
  const report = (exec: ExecutionRecord) => {
    for (const step of changes.changed(exec)) write(stepLine(step));
  };
  while (!finished) {
    report(await read());
    await Promise.race([settled, new Promise((r) => setTimeout(r, intervalMs))]);
  }
  report(await read());
}
