import { chmodSync, closeSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SelectQueryNode,
  SqliteDialect,
  type DatabaseConnection,
  type Driver,
  type Transaction,
} from 'kysely';
import { CapstanError } from '../core/errors.js';
import { fsReason } from '../core/file-errors.js';
import { makeDirectory } from '../core/make-directory.js';
import { redactUrl } from '../core/config.js';
import type { Migration } from 'kysely';
import { migrateToLatest } from './migrator.js';
import { unitOfWorkSeam } from './unit-of-work.js';
import { WalSync } from './wal-sync.js';

/** The `sqlite.synchronous` modes (see `DatabaseOptions.synchronous`). */
export type SqliteSynchronous = 'OFFLOADED' | 'FULL' | 'NORMAL';

/** The SQL dialect behind a Database. */
export type DialectName = 'sqlite' | 'postgres';

/** Options for opening the metadata database; every field has a default. */
export interface DatabaseOptions {
  /**
   * When a SQLite write is durable. `OFFLOADED` (default): the write's promise resolves after an fsync of
   * the WAL on the thread pool, shared by concurrent writers; `FULL`: SQLite fsyncs inside each commit,
   * on the event loop; `NORMAL`: no fsync before resolving (a power loss may undo the last commits).
   * See docs/decisions/0031-sqlite-commits-synced-off-the-event-loop.md.
   */
  synchronous?: SqliteSynchronous;
  /** SQLite busy timeout in ms; default 5000. */
  busyTimeoutMs?: number;
  /**
   * The migrations to apply on open, by name (the platform's set is `platformMigrations` in
   * `src/platform/migrations.ts`, which gathers every context's); default none: the database opens as it is.
   */
  migrations?: Readonly<Record<string, Migration>>;
  /** Apply `migrations` on open; default true. */
  migrate?: boolean;
  /** PostgreSQL pool size; default 10. */
  poolSize?: number;
  /**
   * Told when the server ends an idle PostgreSQL connection (a restart, a failover, an administrator);
   * the pool drops that connection and opens a new one for the next query. Default: ignored.
   */
  onIdleConnectionError?: (err: Error) => void;
}

/**
 * The metadata database: one Kysely instance over SQLite or PostgreSQL. Contexts take a typed view
 * of their own tables with `as<T>()`; columns use portable types only (text, integer, bigint ms
 * timestamps, double precision, JSON as text) so the same queries run on both dialects.
 */
export interface Database {
  /** Which dialect this is, for the few queries that must differ (`FOR UPDATE SKIP LOCKED`). */
  readonly dialect: DialectName;
  /** The URL with its password redacted, for logs and `capstan config`. */
  readonly displayUrl: string;
  /** An untyped Kysely handle. */
  readonly kysely: Kysely<any>;
  /** A Kysely handle typed with one context's tables. */
  as<T>(): Kysely<T>;
  /**
   * Runs `fn` in a write transaction (`BEGIN IMMEDIATE` on SQLite, so writers queue instead of
   * deadlocking); inside `unitOfWork` it is a savepoint of the unit's transaction.
   */
  transaction<R>(fn: (trx: Transaction<any>) => Promise<R>): Promise<R>;
  /**
   * Runs `fn` as one unit of work: every query made through this Database while it runs (by any
   * context's store) is part of one transaction that commits when `fn` resolves and rolls back when it
   * throws or the process dies. On SQLite the unit holds the write lock, and this process's other
   * queries wait, until it ends. See docs/decisions/0026-atomic-repository-sync.md.
   */
  unitOfWork<R>(fn: () => Promise<R>): Promise<R>;
  /** Runs `fn` once the ambient unit of work has committed (never when it rolls back), or at once outside one. */
  afterCommit(fn: () => Promise<void> | void): Promise<void>;
  /**
   * PostgreSQL only (undefined on SQLite): holds a connection of its own that LISTENs on `channel` and
   * calls `onNotify` for each NOTIFY; `onError` hears that the connection broke (nothing is
   * re-established). Resolves with the function that stops listening and releases the connection.
   */
  listen?(channel: string, onNotify: () => void, onError: (err: Error) => void): Promise<() => Promise<void>>;
  /** Closes the pool or file handle. */
  close(): Promise<void>;
}

/** Statements that change nothing on disk, or whose change reaches it only with a later commit. */
const NOT_A_WRITE = /^\s*(begin|rollback|savepoint|pragma)\b/i;

/**
 * Kysely's SQLite driver begins with a plain BEGIN, which upgrades to a write lock too late under
 * concurrent writers (SQLITE_BUSY without waiting); IMMEDIATE takes the lock up front and honours busy_timeout.
 * With `walSync`, a query that committed a write (a commit, or a write outside a transaction) waits for
 * the WAL's fsync after it released the connection, so other queries run during the fsync.
 */
function immediateSqliteDialect(dialect: SqliteDialect, handle: { readonly inTransaction: boolean }, walSync?: WalSync): SqliteDialect {
  const createDriver = dialect.createDriver.bind(dialect);
  return Object.assign(Object.create(Object.getPrototypeOf(dialect)), dialect, {
    createDriver(): Driver {
      const driver = createDriver();
      driver.beginTransaction = async (connection: DatabaseConnection) => {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
      };
      if (!walSync) return driver;
      let committed = false;
      const wrapped = new WeakSet<DatabaseConnection>();
      const acquire = driver.acquireConnection.bind(driver);
      const release = driver.releaseConnection.bind(driver);
      driver.acquireConnection = async () => {
        const connection = await acquire();
        if (!wrapped.has(connection)) {
          wrapped.add(connection);
          const execute = connection.executeQuery.bind(connection);
          connection.executeQuery = async <R>(query: CompiledQuery) => {
            const result = await execute<R>(query);
            if (!handle.inTransaction && !SelectQueryNode.is(query.query) && !NOT_A_WRITE.test(query.sql)) committed = true;
            return result;
          };
        }
        return connection;
      };
      driver.releaseConnection = async (connection) => {
        const mustSync = committed;
        committed = false;
        await release(connection);
        if (mustSync) await walSync.sync();
      };
      return driver;
    },
  });
}

/**
 * Creates the SQLite file owner-only (0600, its directory 0700) before SQLite opens it, and takes
 * group and other access away from an existing one: it holds API key hashes and webhook secrets.
 * SQLite gives its -wal and -shm files the database file's mode.
 */
function restrictDatabaseFile(file: string): void {
  makeDirectory(path.dirname(file), 0o700);
  closeSync(openSync(file, 'a', 0o600));
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) chmodSync(file, mode & 0o700);
}

async function openSqlite(file: string, options: DatabaseOptions): Promise<{ kysely: Kysely<any>; walSync?: WalSync }> {
  const { default: SQLite } = await import('better-sqlite3');
  if (file !== ':memory:') restrictDatabaseFile(file);
  const handle = new SQLite(file);
  const wal = handle.pragma('journal_mode = WAL', { simple: true }) === 'wal';
  handle.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  const mode = options.synchronous ?? 'OFFLOADED';
  // Without a WAL (an in-memory database) there is no file to sync off the event loop: SQLite syncs, if anything.
  const walSync = mode === 'OFFLOADED' && wal ? new WalSync(`${file}-wal`) : undefined;
  handle.pragma(`synchronous = ${mode === 'NORMAL' || walSync ? 'NORMAL' : 'FULL'}`);
  handle.pragma('foreign_keys = ON');
  return { kysely: new Kysely<any>({ dialect: immediateSqliteDialect(new SqliteDialect({ database: handle }), handle, walSync) }), walSync };
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<{ kysely: Kysely<any>; pool: import('pg').Pool }> {
  const pg = await import('pg');
  const Pool = pg.default.Pool;
  const types = pg.default.types;
  const pool = new Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // bigint (epoch ms, counters) and numeric come back as strings by default; every value we store fits a double.
    types: {
      getTypeParser: ((oid: number, format?: any) => {
        if (oid === types.builtins.INT8 || oid === types.builtins.NUMERIC) return (v: string) => Number(v);
        return types.getTypeParser(oid, format);
      }) as any,
    },
  });
  // Without a listener, node-postgres turns the error of an idle client into a process crash.
  pool.on('error', (err) => options.onIdleConnectionError?.(err));
  // A connection the server drops while it is checked out between two queries (inside a transaction)
  // also emits 'error', where the pool has no listener: that too would crash the process in an outage.
  // The query in flight or the next one fails instead, and the pool discards the connection.
  pool.on('connect', (client) => client.on('error', (err) => options.onIdleConnectionError?.(err)));
  return { kysely: new Kysely<any>({ dialect: new PostgresDialect({ pool }) }), pool };
}

/** LISTEN on a dedicated pool connection (see `Database.listen`). */
async function listenOn(pool: import('pg').Pool, channel: string, onNotify: () => void, onError: (err: Error) => void): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel name ${channel}`);
  const client = await pool.connect();
  let released = false;
  const release = (err?: Error) => {
    if (released) return;
    released = true;
    client.release(err);
  };
  client.on('notification', (n) => {
    if (n.channel === channel) onNotify();
  });
  client.on('error', (err) => {
    release(err);
    onError(err);
  });
  try {
    await client.query(`listen ${channel}`);
  } catch (err) {
    release(err as Error);
    throw err;
  }
  return async () => {
    if (released) return;
    await client.query(`unlisten ${channel}`).catch(() => {});
    release();
  };
}

/** Opens the database named by `url` (`sqlite://file`, `sqlite::memory:`, `postgres://…`) and applies `options.migrations`. */
export async function openDatabase(url: string, options: DatabaseOptions = {}): Promise<Database> {
  let dialect: DialectName;
  let kysely: Kysely<any>;
  let pool: import('pg').Pool | undefined;
  let walSync: WalSync | undefined;
  const displayUrl = redactUrl(url);
  try {
    if (url.startsWith('sqlite:')) {
      dialect = 'sqlite';
      const file = url === 'sqlite::memory:' ? ':memory:' : decodeURIComponent(url.replace(/^sqlite:(\/\/)?/, ''));
      if (!file) throw new CapstanError('CAPSTAN_DB_URL_INVALID', 'sqlite:// URL names no file');
      ({ kysely, walSync } = await openSqlite(file, options));
    } else if (/^postgres(ql)?:\/\//.test(url)) {
      dialect = 'postgres';
      ({ kysely, pool } = await openPostgres(url, options));
    } else {
      throw new CapstanError('CAPSTAN_DB_URL_INVALID', 'the database URL must start with sqlite:// or postgres://');
    }
  } catch (err) {
    if (err instanceof CapstanError) throw err;
    // A file-system reason (the directory of the SQLite file cannot be made) is worth saying; a driver's message may hold the password.
    const fsCode = (err as NodeJS.ErrnoException).code;
    const why = fsCode && /^E[A-Z]+$/.test(fsCode) && (err as NodeJS.ErrnoException).syscall !== 'connect' && url.startsWith('sqlite:') ? `: ${fsCode === 'ENOENT' ? 'its directory cannot be created there' : fsReason(err)}` : '';
    throw new CapstanError('CAPSTAN_DB_UNAVAILABLE', `cannot open ${displayUrl}${why}`, { cause: err });
  }
  const seam = unitOfWorkSeam(kysely);
  const database: Database = {
    dialect,
    displayUrl,
    kysely: seam.kysely,
    as: <T>() => seam.kysely as unknown as Kysely<T>,
    transaction: seam.transaction,
    unitOfWork: seam.unitOfWork,
    afterCommit: seam.afterCommit,
    listen: pool ? (channel, onNotify, onError) => listenOn(pool, channel, onNotify, onError) : undefined,
    close: async () => {
      await walSync?.close();
      await kysely.destroy();
    },
  };
  if (options.migrate !== false && options.migrations) {
    try {
      await migrateToLatest(database, options.migrations);
    } catch (err) {
      await kysely.destroy().catch(() => {});
      if (err instanceof CapstanError) throw err;
      throw new CapstanError('CAPSTAN_DB_UNAVAILABLE', `cannot reach ${displayUrl}`, { cause: err });
    }
  }
  return database;
}

/** Current time in epoch milliseconds, as stored in every `*_at` column. */
export function nowMs(): number {
  return Date.now();
}

/** Parses a JSON text column, tolerating null. */
export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (text == null || text === '') return fallback;
  return JSON.parse(text) as T;
}
