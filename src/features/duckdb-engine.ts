import { mkdirSync } from 'node:fs';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { CapstanError } from '../core/errors.js';

/** Options of the embedded DuckDB engine. */
export interface DuckDbEngineOptions {
  /** Directory DuckDB spills to when a join does not fit in memory; required. */
  tempDirectory: string;
  /** DuckDB memory limit, e.g. `2GB`; default DuckDB's (80% of RAM). */
  memoryLimit?: string;
  /** Worker threads; default DuckDB's (one per core). */
  threads?: number;
}

/**
 * The offline engine: one in-memory DuckDB instance per platform, a connection per operation so
 * operations keep their temporary tables apart. Extensions are never installed or loaded on demand
 * (that would download at run time): only the built-in Parquet, JSON and ICU are used, and object
 * storage is reached through the artifact store API instead of httpfs (decision 0013).
 */
export class DuckDbEngine {
  private instance?: Promise<DuckDBInstance>;

  constructor(private readonly options: DuckDbEngineOptions) {}

  private open(): Promise<DuckDBInstance> {
    this.instance ??= (async () => {
      mkdirSync(this.options.tempDirectory, { recursive: true });
      const config: Record<string, string> = {
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
        temp_directory: this.options.tempDirectory,
      };
      if (this.options.memoryLimit) config.memory_limit = this.options.memoryLimit;
      if (this.options.threads) config.threads = String(this.options.threads);
      // Loaded on first use: the binding is ~180 modules that every process (each CLI command) would
      // otherwise load at start although most never touch the offline store.
      const { DuckDBInstance } = await import('@duckdb/node-api');
      return DuckDBInstance.create(':memory:', config);
    })();
    return this.instance;
  }

  /** Runs `fn` with a fresh connection (its temporary tables are dropped when it closes). */
  async withConnection<R>(fn: (conn: DuckDBConnection) => Promise<R>): Promise<R> {
    const conn = await (await this.open()).connect();
    try {
      // Text timestamps without an offset are read as UTC whatever the host's zone.
      await conn.run("SET TimeZone = 'UTC'");
      return await fn(conn);
    } finally {
      conn.closeSync();
    }
  }

  /** Closes the instance. */
  async close(): Promise<void> {
    if (!this.instance) return;
    const inst = await this.instance.catch(() => undefined);
    this.instance = undefined;
    inst?.closeSync();
  }
}

/** Runs a query and returns its rows as JSON-friendly objects (BIGINT as string, so callers convert). */
export async function queryRows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } catch (err) {
    throw engineError(err);
  }
}

/** Runs a statement. */
export async function execute(conn: DuckDBConnection, sql: string): Promise<void> {
  try {
    await conn.run(sql);
  } catch (err) {
    throw engineError(err);
  }
}

/** A DuckDB failure as a CapstanError; its message names columns and files of the user's input only. */
export function engineError(err: unknown): Error {
  if (err instanceof CapstanError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CapstanError('CAPSTAN_FEATURES_SOURCE_INVALID', `the offline engine could not read the data: ${message.split('\n')[0].replace(/\/[^\s'"]+/g, '<file>').slice(0, 300)}`, { cause: err, retryable: false });
}
