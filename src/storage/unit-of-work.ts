import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type Kysely, type Transaction } from 'kysely';

/** One open unit of work: its transaction, and what runs once it commits. */
interface OpenUnit {
  trx: Transaction<any>;
  /** False once the unit has committed or rolled back: work it started later (a timer) no longer joins it. */
  open: boolean;
  savepoints: number;
  afterCommit: (() => Promise<void> | void)[];
}

/** The query and transaction entry points of a Database, resolved through the ambient unit of work. */
export interface UnitOfWorkSeam {
  /** A Kysely handle that runs each query in the ambient unit of work's transaction when there is one. */
  kysely: Kysely<any>;
  /** A write transaction, or a savepoint inside the ambient unit of work (so a failure undoes only its own writes). */
  transaction<R>(fn: (trx: Transaction<any>) => Promise<R>): Promise<R>;
  /** Runs `fn` with every query through this database in one transaction; a nested call joins the outer one. */
  unitOfWork<R>(fn: () => Promise<R>): Promise<R>;
  /** Runs `fn` after the ambient unit of work commits (never if it rolls back), or now outside one. */
  afterCommit(fn: () => Promise<void> | void): Promise<void>;
}

/**
 * The unit-of-work seam over one Kysely instance. Contexts keep calling their own stores, which keep
 * calling `db.kysely` / `db.as()` / `db.transaction()`; inside `unitOfWork` those resolve (through
 * async context) to one shared transaction, so a caller can make the writes of several contexts
 * commit together without any context seeing another's tables or taking a transaction parameter.
 */
export function unitOfWorkSeam(base: Kysely<any>): UnitOfWorkSeam {
  const ambient = new AsyncLocalStorage<OpenUnit>();
  const current = (): OpenUnit | undefined => {
    const u = ambient.getStore();
    return u?.open ? u : undefined;
  };

  async function nested<R>(unit: OpenUnit, fn: (trx: Transaction<any>) => Promise<R>): Promise<R> {
    const name = sql.raw(`capstan_sp_${++unit.savepoints}`);
    await sql`savepoint ${name}`.execute(unit.trx);
    try {
      const out = await fn(unit.trx);
      await sql`release savepoint ${name}`.execute(unit.trx);
      return out;
    } catch (err) {
      // PostgreSQL refuses every statement after a failed one until this; SQLite keeps the earlier writes.
      await sql`rollback to savepoint ${name}`.execute(unit.trx);
      await sql`release savepoint ${name}`.execute(unit.trx);
      throw err;
    }
  }

  const transaction = <R>(fn: (trx: Transaction<any>) => Promise<R>): Promise<R> => {
    const unit = current();
    return unit ? nested(unit, fn) : base.transaction().execute(fn);
  };

  const kysely = new Proxy(base, {
    get(target, prop) {
      const unit = current();
      if (prop === 'transaction' && unit) return () => ({ execute: <R>(fn: (trx: Transaction<any>) => Promise<R>) => nested(unit, fn) });
      const to: Kysely<any> = unit ? unit.trx : target;
      // Kysely keeps its state in private fields, which a proxy receiver cannot reach: methods bind to the real object.
      const value = Reflect.get(to, prop, to);
      return typeof value === 'function' ? value.bind(to) : value;
    },
  });

  async function unitOfWork<R>(fn: () => Promise<R>): Promise<R> {
    if (current()) return fn();
    let unit: OpenUnit | undefined;
    let out: R;
    try {
      out = await base.transaction().execute((trx) => {
        unit = { trx, open: true, savepoints: 0, afterCommit: [] };
        return ambient.run(unit, fn);
      });
    } finally {
      if (unit) unit.open = false;
    }
    let failure: unknown;
    for (const hook of unit!.afterCommit) {
      try {
        await hook();
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
    return out;
  }

  async function afterCommit(fn: () => Promise<void> | void): Promise<void> {
    const unit = current();
    if (unit) unit.afterCommit.push(fn);
    else await fn();
  }

  return { kysely, transaction, unitOfWork, afterCommit };
}
