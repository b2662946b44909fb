import { availableParallelism } from 'node:os';
import { CapstanError } from '../core/errors.js';
import type { CompiledUseCase } from './compile-usecase.js';
import type { ReplayOptions, ReplayReport } from './decision-types.js';
import { replayRows, topological, type ReplayedRecord } from './replay-one.js';
import { ReplayThreads } from './replay-threads.js';
import type { SqlDecisionStore } from './sql-decision-store.js';

const PAGE = 2000;
/** Below this many records, starting threads costs more than it saves. */
const THREADS_FROM = 20_000;

/** Adds one replayed record to the report. */
function tally(report: ReplayReport, r: ReplayedRecord, maxExamples: number): void {
  report.records++;
  if (r.to === undefined) {
    report.skipped++;
    return;
  }
  const from = r.from ?? 'error';
  const to = r.to ?? 'error';
  report.before[from] = (report.before[from] ?? 0) + 1;
  report.after[to] = (report.after[to] ?? 0) + 1;
  if (from === to) {
    report.unchanged++;
    if (r.detailsChanged) report.detailsChanged++;
    return;
  }
  report.changed++;
  const key = `${from} → ${to}`;
  report.transitions[key] = (report.transitions[key] ?? 0) + 1;
  if (report.examples.length < maxExamples) report.examples.push({ id: r.id, from: r.from, to: r.to, reasons: r.reasons ?? [] });
}

/**
 * Re-evaluates a use case's recorded champion decisions in a time range against version `uc`: same
 * inputs and model outputs, that version's CEL tasks, thresholds and rules. Reports how many outcomes
 * change, in which direction, with examples. CAPSTAN_DECISIONS_REPLAY_EMPTY when the range holds no
 * record. Large ranges are replayed on worker threads while this thread reads the next pages.
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
  const expected = Math.min(limit, await store.countChampions(uc.name, sinceMs, untilMs));
  // A ZEN call runs mostly on the calling thread, and two replay threads (each compiling the version
  // and receiving copies of the pages) measured slower than this thread alone on a busy two-core
  // host, so they start from three cores up.
  const threadCount = options.threads ?? (expected >= THREADS_FROM ? Math.min(availableParallelism() - 1, 4) : 0);
  const threads = threadCount > 1 ? new ReplayThreads(uc.definition, threadCount) : undefined;
  try {
    const pending: Promise<ReplayedRecord[]>[] = [];
    let read = 0;
    let after: { createdAt: number; id: string } | undefined;
    while (read < limit) {
      const page = await store.replayPage(uc.name, sinceMs, untilMs, after, Math.min(PAGE, limit - read));
      if (page.length === 0) break;
      read += page.length;
      after = page[page.length - 1];
      const rows = page;
      // In order of the records; a thread pool keeps a few pages in flight per thread.
      pending.push(threads ? threads.replay(rows) : replayRows(uc, order, rows));
      if (!threads || pending.length >= threadCount * 2) for (const r of await pending.shift()!) tally(report, r, maxExamples);
    }
    for (const p of pending) for (const r of await p) tally(report, r, maxExamples);
  } finally {
    await threads?.close();
  }
  if (report.records === 0) {
    throw new CapstanError('CAPSTAN_DECISIONS_REPLAY_EMPTY', `use case ${uc.name} has no recorded decisions from ${report.since} to ${report.until}; widen --since/--until`, { fields: { usecase: uc.name, since: report.since, until: report.until } });
  }
  const seconds = (performance.now() - started) / 1000;
  report.recordsPerSecond = Math.round(report.records / Math.max(seconds, 1e-6));
  return report;
}
