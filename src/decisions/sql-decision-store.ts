import type { Kysely, Transaction } from 'kysely';
import { CapstanError } from '../core/errors.js';
import type { Database } from '../storage/database.js';
import type { DecisionRecord, DecisionQuery, UseCaseSummary, UseCaseVersion } from './decision-types.js';
import type { DecisionSnapshot } from './run-decision.js';
import { RecordWriter } from './record-writer.js';

interface Tables {
  decision_usecases: { name: string; latest_version: number; active_version: number | null; challenger_version: number | null; created_at: number; updated_at: number };
  decision_versions: { usecase: string; version: number; definition: string; digest: string; created_by: string; created_at: number };
  decision_records: { id: string; usecase: string; version: number; role: string; subject: string | null; paired_with: string | null; status: string; outcome: string | null; latency_ms: number; created_at: number; snapshot: string; replay: string | null };
  decision_requests: { id: string; usecase: string; status: string; record_id: string | null; error: string | null; callback_url: string | null; callback_secret: string | null; created_at: number; finished_at: number | null };
  decision_alerts: { usecase: string; firing: number; changed_at: number };
}

/** A record row as stored, before it becomes a DecisionRecord. */
export type RecordRow = Tables['decision_records'];

/** A stored asynchronous request. */
export type RequestRow = Tables['decision_requests'];

const iso = (ms: number) => new Date(ms).toISOString();

/** Turns a row into the record callers see. */
export function toRecord(row: RecordRow): DecisionRecord {
  const snapshot = JSON.parse(row.snapshot) as DecisionSnapshot;
  return {
    id: row.id,
    usecase: row.usecase,
    version: row.version,
    role: row.role as DecisionRecord['role'],
    subject: row.subject,
    status: row.status as DecisionRecord['status'],
    outcome: row.outcome,
    reasons: snapshot.reasons,
    output: snapshot.output,
    latencyMs: row.latency_ms,
    time: iso(Number(row.created_at)),
    snapshot,
  };
}

/** Use cases, versions, decision records and async requests in the metadata database. */
export class SqlDecisionStore {
  private readonly db: Kysely<Tables>;
  private readonly writer: RecordWriter;

  constructor(private readonly database: Database) {
    this.db = database.as<Tables>();
    this.writer = new RecordWriter(database);
  }

  /** Runs `fn` in one write transaction. */
  transaction<R>(fn: (trx: Transaction<any>) => Promise<R>): Promise<R> {
    return this.database.transaction(fn);
  }

  /** Stores a new version (the use case is created with it), unless the latest has the same digest. */
  async addVersion(name: string, definition: unknown, digest: string, actor: string): Promise<{ version: number; created: boolean }> {
    return this.database.transaction(async (trx) => {
      const db = trx as Transaction<Tables>;
      const uc = await db.selectFrom('decision_usecases').selectAll().where('name', '=', name).executeTakeFirst();
      const now = Date.now();
      if (uc) {
        const latest = await db.selectFrom('decision_versions').select('digest').where('usecase', '=', name).where('version', '=', uc.latest_version).executeTakeFirst();
        if (latest?.digest === digest) return { version: uc.latest_version, created: false };
      }
      const version = (uc?.latest_version ?? 0) + 1;
      if (uc) await db.updateTable('decision_usecases').set({ latest_version: version, updated_at: now }).where('name', '=', name).execute();
      else await db.insertInto('decision_usecases').values({ name, latest_version: version, active_version: null, challenger_version: null, created_at: now, updated_at: now }).execute();
      await db.insertInto('decision_versions').values({ usecase: name, version, definition: JSON.stringify(definition), digest, created_by: actor, created_at: now }).execute();
      return { version, created: true };
    });
  }

  /** Sets which version serves (`active`) and which runs in shadow (`challenger`, null for none). */
  async setRoles(name: string, roles: { active?: number | null; challenger?: number | null }): Promise<void> {
    const set: Partial<Tables['decision_usecases']> = { updated_at: Date.now() };
    if (roles.active !== undefined) set.active_version = roles.active;
    if (roles.challenger !== undefined) set.challenger_version = roles.challenger;
    await this.db.updateTable('decision_usecases').set(set).where('name', '=', name).execute();
  }

  /** One use case's summary, or undefined. */
  async useCase(name: string): Promise<UseCaseSummary | undefined> {
    const row = await this.db.selectFrom('decision_usecases').selectAll().where('name', '=', name).executeTakeFirst();
    return row && summary(row);
  }

  /** Every use case, by name. */
  async useCases(): Promise<UseCaseSummary[]> {
    return (await this.db.selectFrom('decision_usecases').selectAll().orderBy('name').execute()).map(summary);
  }

  /** One stored version. */
  async version(name: string, version: number): Promise<UseCaseVersion | undefined> {
    const row = await this.db.selectFrom('decision_versions').selectAll().where('usecase', '=', name).where('version', '=', version).executeTakeFirst();
    return row && { usecase: row.usecase, version: row.version, digest: row.digest, createdBy: row.created_by, createdAt: iso(Number(row.created_at)), definition: JSON.parse(row.definition) };
  }

  /** Stores a record: inside `trx` when given (so an event can go with it), else group-committed with concurrent ones. */
  async insertRecord(row: RecordRow, trx?: Transaction<any>): Promise<void> {
    if (trx) await (trx as Kysely<Tables>).insertInto('decision_records').values(row).execute();
    else await this.writer.write(row);
  }

  /** One record, or undefined. */
  async record(id: string): Promise<RecordRow | undefined> {
    return this.db.selectFrom('decision_records').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Records matching a query, newest first. */
  async records(q: DecisionQuery & { limit: number }): Promise<RecordRow[]> {
    let query = this.db.selectFrom('decision_records').selectAll();
    if (q.usecase) query = query.where('usecase', '=', q.usecase);
    if (q.subject) query = query.where('subject', '=', q.subject);
    if (q.outcome) query = query.where('outcome', '=', q.outcome);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.role) query = query.where('role', '=', q.role);
    if (q.version !== undefined) query = query.where('version', '=', q.version);
    if (q.since) query = query.where('created_at', '>=', Date.parse(q.since));
    if (q.until) query = query.where('created_at', '<', Date.parse(q.until));
    if (q.before) query = query.where('id', '<', q.before);
    return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
  }

  /** How many champion records a use case has in a time range. */
  async countChampions(usecase: string, sinceMs: number, untilMs: number): Promise<number> {
    const row = await this.db
      .selectFrom('decision_records')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('usecase', '=', usecase)
      .where('role', '=', 'champion')
      .where('created_at', '>=', sinceMs)
      .where('created_at', '<', untilMs)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * One page of a use case's champion records in a time range, in (created_at, id) order after
   * `after` (replay). Keyset pagination along the (usecase, created_at) index: each page reads only its
   * own rows, where ordering by id alone made every page sort the whole range again.
   */
  async replayPage(usecase: string, sinceMs: number, untilMs: number, after: { createdAt: number; id: string } | undefined, limit: number): Promise<{ id: string; createdAt: number; snapshot: string }[]> {
    let query = this.db
      .selectFrom('decision_records')
      // The replay projection where the record has one; the whole snapshot (a superset) where it predates
      // it. Chosen in SQL, so the snapshot's text is not even read out of the row otherwise.
      .select((eb) => ['id', 'created_at', eb.fn.coalesce('replay', 'snapshot').as('source')])
      .where('usecase', '=', usecase)
      .where('role', '=', 'champion')
      .where('created_at', '>=', sinceMs)
      .where('created_at', '<', untilMs);
    if (after) query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(after.createdAt, after.id)));
    const rows = await query.orderBy('created_at').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ id: r.id, createdAt: Number(r.created_at), snapshot: r.source }));
  }

  /** Outcome and status counts of records since a time, by role and version (champion/challenger comparison, alerts). */
  async counts(usecase: string, sinceMs: number): Promise<{ role: string; version: number; status: string; outcome: string | null; n: number }[]> {
    const rows = await this.db
      .selectFrom('decision_records')
      .select(['role', 'version', 'status', 'outcome', (eb) => eb.fn.countAll<number>().as('n')])
      .where('usecase', '=', usecase)
      .where('created_at', '>=', sinceMs)
      .groupBy(['role', 'version', 'status', 'outcome'])
      .execute();
    return rows.map((r) => ({ ...r, n: Number(r.n) }));
  }

  /** Challenger records since a time whose outcome differs from their champion's. */
  async disagreements(usecase: string, sinceMs: number): Promise<number> {
    const row = await this.db
      .selectFrom('decision_records as c')
      .innerJoin('decision_records as p', 'p.id', 'c.paired_with')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('c.usecase', '=', usecase)
      .where('c.role', '=', 'challenger')
      .where('c.created_at', '>=', sinceMs)
      .where((eb) => eb.or([eb('c.outcome', '!=', eb.ref('p.outcome')), eb('c.status', '!=', eb.ref('p.status'))]))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Latencies of champion records since a time (alerts). */
  async latencies(usecase: string, sinceMs: number): Promise<number[]> {
    const rows = await this.db.selectFrom('decision_records').select('latency_ms').where('usecase', '=', usecase).where('role', '=', 'champion').where('created_at', '>=', sinceMs).execute();
    return rows.map((r) => Number(r.latency_ms));
  }

  /** Deletes a use case's records older than a time; returns how many. */
  async deleteRecordsBefore(usecase: string, beforeMs: number): Promise<number> {
    const res = await this.db.deleteFrom('decision_records').where('usecase', '=', usecase).where('created_at', '<', beforeMs).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /** Stores a queued async request. */
  async insertRequest(row: RequestRow, trx?: Transaction<any>): Promise<void> {
    await ((trx as Kysely<Tables> | undefined) ?? this.db).insertInto('decision_requests').values(row).execute();
  }

  /** One async request, or undefined. */
  async request(id: string): Promise<RequestRow | undefined> {
    return this.db.selectFrom('decision_requests').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Marks an async request finished. */
  async finishRequest(id: string, status: string, recordId: string | null, error: string | null, trx?: Transaction<any>): Promise<void> {
    await ((trx as Kysely<Tables> | undefined) ?? this.db).updateTable('decision_requests').set({ status, record_id: recordId, error, finished_at: Date.now() }).where('id', '=', id).execute();
  }

  /** Ends a request that is still `queued` as `failed` with `error` and answers it as ended; undefined when it had already ended. */
  async failQueuedRequest(id: string, error: string, trx: Transaction<any>): Promise<RequestRow | undefined> {
    return (trx as Kysely<Tables>).updateTable('decision_requests').set({ status: 'failed', error, finished_at: Date.now() }).where('id', '=', id).where('status', '=', 'queued').returningAll().executeTakeFirst();
  }

  /**
   * Queues again a request that ended `failed` without a record, which only its job's death does,
   * and returns it; undefined for any other request, so a decided one stays as it is.
   */
  async reviveLostRequest(id: string): Promise<RequestRow | undefined> {
    return this.db.updateTable('decision_requests').set({ status: 'queued', error: null, finished_at: null }).where('id', '=', id).where('status', '=', 'failed').where('record_id', 'is', null).returningAll().executeTakeFirst();
  }

  /** Whether a use case's alert is firing. */
  async alertFiring(usecase: string): Promise<boolean> {
    const row = await this.db.selectFrom('decision_alerts').select('firing').where('usecase', '=', usecase).executeTakeFirst();
    return row?.firing === 1;
  }

  /** Records that a use case's alert started or stopped firing. */
  async setAlert(usecase: string, firing: boolean, trx?: Transaction<any>): Promise<void> {
    const db = (trx as Kysely<Tables> | undefined) ?? this.db;
    const values = { usecase, firing: firing ? 1 : 0, changed_at: Date.now() };
    await db.insertInto('decision_alerts').values(values).onConflict((oc) => oc.column('usecase').doUpdateSet({ firing: values.firing, changed_at: values.changed_at })).execute();
  }

  /** Throws CAPSTAN_DECISIONS_USECASE_NOT_FOUND unless the use case exists. */
  async requireUseCase(name: string): Promise<UseCaseSummary> {
    const uc = await this.useCase(name);
    if (!uc) throw new CapstanError('CAPSTAN_DECISIONS_USECASE_NOT_FOUND', `no use case ${name}`, { fields: { usecase: name } });
    return uc;
  }
}

function summary(row: Tables['decision_usecases']): UseCaseSummary {
  return { name: row.name, latestVersion: row.latest_version, activeVersion: row.active_version, challengerVersion: row.challenger_version, createdAt: iso(Number(row.created_at)), updatedAt: iso(Number(row.updated_at)) };
}
