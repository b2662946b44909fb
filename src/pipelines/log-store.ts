import { compileUserRegex } from '../core/user-regex.js';
import type { Kysely } from 'kysely';
import type { Database } from '../storage/database.js';
import type { LogLine } from './execution.js';
import { fencedStepUpdate, type Fence } from './fence.js';

interface LogsTable {
  pipeline_step_logs: {
    execution_id: string;
    pipeline: string;
    step: string;
    attempt: number;
    seq: number;
    at: number;
    stream: string;
    line: string;
  };
}
type Row = LogsTable['pipeline_step_logs'];

const MAX_LINE = 8192;
const FLUSH_MS = 100;
const FLUSH_LINES = 500;
/** Lines kept while the database cannot be written; past this the newest are counted and dropped. */
const MAX_BUFFERED = 20_000;
const RETRY_MS = 500;

/** Fencing of a log writer: lines are stored only while the attempt's tokens are current. */
export interface LogWriterOptions {
  fence?: Fence;
  /** Told once when the attempt's tokens are no longer current; the lines still buffered are dropped. */
  onFenced?: (dropped: number) => void;
}

/**
 * Writes one step attempt's lines; batched so a chatty step does not cost one transaction per line.
 * While the database cannot be written (an outage) lines stay buffered and are retried, in order,
 * with the attempt's tokens; once the tokens are stale (another attempt took over) they are dropped,
 * so two attempts' lines never interleave in the stored log.
 */
export class StepLogWriter {
  private seq = 0;
  private buffer: Row[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> = Promise.resolve();
  private overflow = 0;
  private fenced = false;

  constructor(
    private readonly store: LogStore,
    private readonly key: { executionId: string; pipeline: string; step: string; attempt: number },
    private readonly options: LogWriterOptions = {},
  ) {}

  /** Appends one line (long lines are cut at 8 KiB). */
  write(stream: LogLine['stream'], line: string, at = Date.now()): void {
    if (this.fenced) return;
    if (this.buffer.length >= MAX_BUFFERED) {
      this.overflow++;
      return;
    }
    this.buffer.push(this.row(stream, line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line, at));
    if (this.buffer.length >= FLUSH_LINES) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Lines not stored yet (buffered, or waiting for the database to come back). */
  get unwritten(): number {
    return this.buffer.length;
  }

  /** Writes buffered lines now; resolves when they are stored, refused, or left for a retry after a database error. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = this.pending.then(() => this.drain());
    return this.pending;
  }

  private row(stream: LogLine['stream'], line: string, at: number): Row {
    return { execution_id: this.key.executionId, pipeline: this.key.pipeline, step: this.key.step, attempt: this.key.attempt, seq: this.seq++, at, stream, line };
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0 && !this.fenced) {
      if (this.overflow > 0 && this.buffer.length < MAX_BUFFERED) {
        this.buffer.push(this.row('system', `${this.overflow} log lines were dropped while the database could not be written`, Date.now()));
        this.overflow = 0;
      }
      const rows = this.buffer.slice(0, FLUSH_LINES);
      try {
        if (!(await this.store.insert(rows, this.options.fence))) {
          this.fenced = true;
          const dropped = this.buffer.length;
          this.buffer = [];
          this.options.onFenced?.(dropped);
          return;
        }
      } catch {
        // The database is unreachable: keep the lines, in order, and try again.
        this.timer ??= setTimeout(() => void this.flush(), RETRY_MS);
        this.timer.unref();
        return;
      }
      this.buffer.splice(0, rows.length);
    }
  }
}

/** Filter for `search`. */
export interface LogSearch {
  /** Plain text (case-insensitive) unless `regex` is true, then an RE2 regular expression (no look-around or back-references). */
  pattern: string;
  regex?: boolean;
  pipeline?: string;
  executionId?: string;
  step?: string;
  /** Epoch ms bounds. */
  since?: number;
  until?: number;
  /** Default 200, at most 5000. */
  limit?: number;
}

/** Step logs in the metadata DB: written per attempt, read by SSE and `capstan logs`, searched across executions. */
export class LogStore {
  constructor(private readonly db: Database) {}

  /** A writer for one step attempt. */
  writer(key: { executionId: string; pipeline: string; step: string; attempt: number }, options?: LogWriterOptions): StepLogWriter {
    return new StepLogWriter(this, key, options);
  }

  /**
   * Inserts rows of one attempt (chunked to stay under the SQL parameter limits). With a fence, the
   * rows go in one transaction with a compare-and-set on the attempt's step row and nothing is
   * written (false) when its tokens are stale.
   */
  async insert(rows: Row[], fence?: Fence): Promise<boolean> {
    if (rows.length === 0) return true;
    const write = async (k: Kysely<LogsTable>) => {
      for (let i = 0; i < rows.length; i += 100) await k.insertInto('pipeline_step_logs').values(rows.slice(i, i + 100)).execute();
    };
    if (!fence) {
      await write(this.db.as<LogsTable>());
      return true;
    }
    return this.db.transaction(async (trx) => {
      if (!(await fencedStepUpdate(trx, rows[0].execution_id, rows[0].step, { updated_at: Date.now() }, fence))) return false;
      await write(trx as unknown as Kysely<LogsTable>);
      return true;
    });
  }

  /** Lines of an execution (optionally one step / attempt) at or after `sinceMs`, in time order. */
  async read(executionId: string, filter: { step?: string; attempt?: number; sinceMs?: number; limit?: number } = {}): Promise<LogLine[]> {
    let q = this.db
      .as<LogsTable>()
      .selectFrom('pipeline_step_logs')
      .selectAll()
      .where('execution_id', '=', executionId)
      .orderBy('at')
      .orderBy('step')
      .orderBy('attempt')
      .orderBy('seq')
      .limit(Math.min(filter.limit ?? 10_000, 100_000));
    if (filter.step) q = q.where('step', '=', filter.step);
    if (filter.attempt !== undefined) q = q.where('attempt', '=', filter.attempt);
    if (filter.sinceMs !== undefined) q = q.where('at', '>=', filter.sinceMs);
    return (await q.execute()).map(toLine);
  }

  /**
   * Searches lines by text or regex within a time range. The match runs here rather than in SQL so
   * the same semantics hold on SQLite and PostgreSQL; at most 500,000 lines are scanned per search.
   */
  async search(s: LogSearch): Promise<LogLine[]> {
    let matcher: (line: string) => boolean;
    if (s.regex) {
      // A viewer writes this pattern: a backtracking engine would let `^(a+)+$` stall the event loop.
      const re = compileUserRegex(s.pattern, 'the search pattern');
      matcher = (l) => re.test(l);
    } else {
      const needle = s.pattern.toLowerCase();
      matcher = (l) => l.toLowerCase().includes(needle);
    }
    const limit = Math.min(s.limit ?? 200, 5000);
    const out: LogLine[] = [];
    let after: { at: number; execution_id: string; step: string; attempt: number; seq: number } | undefined;
    for (let scanned = 0; scanned < 500_000 && out.length < limit; ) {
      let q = this.db.as<LogsTable>().selectFrom('pipeline_step_logs').selectAll()
        .orderBy('at').orderBy('execution_id').orderBy('step').orderBy('attempt').orderBy('seq').limit(5000);
      if (s.pipeline) q = q.where('pipeline', '=', s.pipeline);
      if (s.executionId) q = q.where('execution_id', '=', s.executionId);
      if (s.step) q = q.where('step', '=', s.step);
      if (s.since !== undefined) q = q.where('at', '>=', s.since);
      if (s.until !== undefined) q = q.where('at', '<=', s.until);
      if (after) q = q.where('at', '>=', after.at);
      const rows = await q.execute();
      const fresh = after ? rows.filter((r) => compareRow(r, after!) > 0) : rows;
      if (fresh.length === 0) break;
      for (const r of fresh) if (matcher(r.line) && out.length < limit) out.push(toLine(r));
      scanned += fresh.length;
      after = rows[rows.length - 1];
      if (rows.length < 5000) break;
    }
    return out;
  }
}

function compareRow(a: Row, b: { at: number; execution_id: string; step: string; attempt: number; seq: number }): number {
  return a.at - b.at || a.execution_id.localeCompare(b.execution_id) || a.step.localeCompare(b.step) || a.attempt - b.attempt || a.seq - b.seq;
}

function toLine(r: Row): LogLine {
  return {
    executionId: r.execution_id,
    pipeline: r.pipeline,
    step: r.step,
    attempt: r.attempt,
    seq: r.seq,
    at: new Date(r.at).toISOString(),
    stream: r.stream as LogLine['stream'],
    line: r.line,
  };
}

/**
 * Follows an execution's log: returns lines not yet seen, tracking the highest sequence per step
 * attempt. Lines are stamped when captured and flushed within ~100 ms, so re-reading from a little
 * before the newest stamp never misses a late-flushed line.
 */
export class LogFollower {
  private readonly seen = new Map<string, number>();
  private since = 0;

  constructor(private readonly store: LogStore, private readonly executionId: string, private readonly step?: string) {}

  /** New lines since the previous call. */
  async next(): Promise<LogLine[]> {
    const rows = await this.store.read(this.executionId, { step: this.step, sinceMs: Math.max(0, this.since - 5000) });
    const fresh: LogLine[] = [];
    for (const l of rows) {
      const key = `${l.step}#${l.attempt}`;
      if ((this.seen.get(key) ?? -1) >= l.seq) continue;
      this.seen.set(key, l.seq);
      fresh.push(l);
      this.since = Math.max(this.since, Date.parse(l.at));
    }
    return fresh;
  }
}
