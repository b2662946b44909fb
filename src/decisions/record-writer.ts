import type { Kysely } from 'kysely';
import type { Database } from '../storage/database.js';
import type { RecordRow } from './sql-decision-store.js';

/** Rows per INSERT statement: 13 columns each stays far below SQLite's and PostgreSQL's parameter limits. */
const ROWS_PER_STATEMENT = 500;

interface Pending {
  row: RecordRow;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for decision records: a caller's `write` resolves once its row is committed, but rows
 * that arrive while a commit runs go together in the next transaction. One fsync then covers many
 * decisions, which is what lets a SQLite-backed server record every decision at 1,000/s (a commit per
 * row costs about 2 ms of a synchronous driver's time, and blocks the event loop meanwhile).
 */
export class RecordWriter {
  private pending: Pending[] = [];
  private flushing?: Promise<void>;

  constructor(private readonly db: Database) {}

  /** Stores a row; resolves when its transaction committed, rejects when it failed. */
  write(row: RecordRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ row, resolve, reject });
      // Rows of the same tick join the first commit; later ones wait for the running one.
      if (!this.flushing) this.flushing = new Promise<void>((r) => setImmediate(r)).then(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.db.transaction(async (trx) => {
          for (let i = 0; i < batch.length; i += ROWS_PER_STATEMENT) {
            await (trx as Kysely<any>).insertInto('decision_records').values(batch.slice(i, i + ROWS_PER_STATEMENT).map((p) => p.row)).execute();
          }
        });
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = undefined;
  }
}
