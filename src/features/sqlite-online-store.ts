import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { OnlineRecord, OnlineStore } from './online-store.js';

/**
 * The default online store: a SQLite file of its own (`$CAPSTAN_HOME/features/online.db`), not the
 * metadata DB, so reads are a synchronous indexed lookup with no pool or network hop, serving stays
 * fast when the metadata DB is PostgreSQL, and materialization writes never hold the metadata DB's
 * write lock (decision 0013).
 */
export class SqliteOnlineStore implements OnlineStore {
  readonly kind = 'sqlite' as const;
  private opened?: {
    db: BetterSqlite3.Database;
    select: BetterSqlite3.Statement<[string, string], { event_ms: number; created_ms: number; payload: string }>;
    selectMany: BetterSqlite3.Statement<[string, string], { entity_key: string; event_ms: number; created_ms: number; payload: string }>;
    upsert: BetterSqlite3.Statement<[string, string, number, number, string]>;
  };

  /** The file is opened (and created) on first use, so commands that never touch features leave no file. */
  constructor(private readonly file: string) {}

  private get db(): BetterSqlite3.Database {
    return this.open().db;
  }

  private get select() {
    return this.open().select;
  }

  private get upsert() {
    return this.open().upsert;
  }

  private open(): NonNullable<SqliteOnlineStore['opened']> {
    if (this.opened) return this.opened;
    const file = this.file;
    mkdirSync(path.dirname(file), { recursive: true });
    const db = new BetterSqlite3(file);
    this.opened = { db, select: undefined as never, selectMany: undefined as never, upsert: undefined as never };
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE IF NOT EXISTS online_features (
      tbl TEXT NOT NULL, entity_key TEXT NOT NULL, event_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL, payload TEXT NOT NULL,
      PRIMARY KEY (tbl, entity_key)) WITHOUT ROWID`);
    this.opened.select = db.prepare('SELECT event_ms, created_ms, payload FROM online_features WHERE tbl = ? AND entity_key = ?');
    // Newer wins: the row is replaced only by a later event time, or the same event time known no earlier, with other values.
    // Many keys in one statement (a JSON array of keys): less than half the cost of one lookup each.
    this.opened.selectMany = db.prepare('SELECT entity_key, event_ms, created_ms, payload FROM online_features WHERE tbl = ? AND entity_key IN (SELECT value FROM json_each(?))');
    this.opened.upsert = db.prepare(`INSERT INTO online_features (tbl, entity_key, event_ms, created_ms, payload) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (tbl, entity_key) DO UPDATE SET event_ms = excluded.event_ms, created_ms = excluded.created_ms, payload = excluded.payload
      WHERE (excluded.event_ms > online_features.event_ms OR (excluded.event_ms = online_features.event_ms AND excluded.created_ms >= online_features.created_ms))
        AND NOT (excluded.event_ms = online_features.event_ms AND excluded.created_ms = online_features.created_ms AND excluded.payload = online_features.payload)`);
    return this.opened;
  }

  async write(table: string, records: OnlineRecord[]): Promise<number> {
    let changed = 0;
    const tx = this.db.transaction((batch: OnlineRecord[]) => {
      for (const r of batch) changed += this.upsert.run(table, r.entityKey, r.eventMs, r.createdMs, JSON.stringify(r.values)).changes;
    });
    tx(records);
    return changed;
  }

  async read(table: string, entityKeys: string[]): Promise<Array<OnlineRecord | undefined>> {
    if (entityKeys.length > 1) {
      const found = new Map<string, OnlineRecord>();
      for (const row of this.open().selectMany.all(table, JSON.stringify(entityKeys))) {
        found.set(row.entity_key, { entityKey: row.entity_key, eventMs: Number(row.event_ms), createdMs: Number(row.created_ms), values: JSON.parse(row.payload) as Record<string, unknown> });
      }
      return entityKeys.map((k) => found.get(k));
    }
    return entityKeys.map((entityKey) => {
      const row = this.select.get(table, entityKey);
      return row ? { entityKey, eventMs: Number(row.event_ms), createdMs: Number(row.created_ms), values: JSON.parse(row.payload) as Record<string, unknown> } : undefined;
    });
  }

  async drop(table: string): Promise<void> {
    this.db.prepare('DELETE FROM online_features WHERE tbl = ?').run(table);
  }

  async close(): Promise<void> {
    if (this.opened?.db.open) this.opened.db.close();
    this.opened = undefined;
  }
}
