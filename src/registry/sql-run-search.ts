import { sql, type Kysely } from 'kysely';
import { CapstanError } from '../core/errors.js';
import { assertName } from '../core/names.js';
import type { Database } from '../storage/database.js';
import type { RunStatus } from './registry-service.js';
import type { RegistryTables } from './registry-tables.js';
import type { RunMetricSeries, RunSort } from './run-search.js';

const RUN_STATUSES: readonly RunStatus[] = ['running', 'finished', 'failed', 'killed'];

/** The filter part of a run search, already checked for paging. */
export interface RunQuery {
  ids?: string[];
  experiment?: string;
  status?: RunStatus;
  name?: string;
  sort: RunSort;
  offset: number;
  limit: number;
}

/** `%`, `_` and the escape character itself, made literal for LIKE. */
function likeFragment(text: string): string {
  return '%' + text.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}

/**
 * The read side the console's tables and charts need, in SQL so a page costs the same for 10 runs
 * or 10,000: run searches sorted by a metric or param with offset paging, and metric series cut
 * to a fixed number of points per run inside the database (a bucket keeps its lowest and highest point).
 */
export class SqlRunSearch {
  constructor(private readonly db: Database) {}

  private get q(): Kysely<RegistryTables> {
    return this.db.as<RegistryTables>();
  }

  /** The ids of one page of matching runs in order, the total, and every param and metric key among the matches. */
  async search(query: RunQuery): Promise<{ ids: string[]; total: number; paramKeys: string[]; metricKeys: string[] }> {
    let base = this.q.selectFrom('runs').innerJoin('experiments', 'experiments.id', 'runs.experiment_id');
    if (query.ids !== undefined) base = query.ids.length ? base.where('runs.id', 'in', query.ids) : base.where(sql<boolean>`1 = 0`);
    if (query.experiment !== undefined) base = base.where('experiments.name', '=', assertName(query.experiment, 'experiment name'));
    if (query.status !== undefined) {
      if (!RUN_STATUSES.includes(query.status)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `run status must be one of ${RUN_STATUSES.join(', ')}`);
      base = base.where('runs.status', '=', query.status);
    }
    if (query.name) base = base.where(sql<boolean>`lower(runs.name) like ${likeFragment(query.name)} escape '\\'`);
    const { sort } = query;
    const dir = sort.desc ? 'desc' : 'asc';
    let page;
    if (sort.field === 'metric' || sort.field === 'param') {
      // Both tables have run_id, key and value; only the value's type differs, which ordering does not mind.
      const table = (sort.field === 'metric' ? 'run_latest_metrics' : 'run_params') as 'run_params';
      const joined = base.leftJoin(`${table} as s`, (j) => j.onRef('s.run_id', '=', 'runs.id').on('s.key', '=', sort.key!));
      page = joined
        .select('runs.id')
        .orderBy(sql`case when s.value is null then 1 else 0 end`)
        .orderBy('s.value', dir)
        .orderBy('runs.started_at', 'desc')
        .orderBy('runs.id', 'desc');
    } else {
      const column = sort.field === 'startedAt' ? 'runs.started_at' : sort.field === 'name' ? 'runs.name' : 'runs.status';
      page = base.select('runs.id').orderBy(column, dir).orderBy('runs.id', dir);
    }
    const matching = base.select('runs.id');
    const [rows, count, params, metrics] = await Promise.all([
      page.limit(query.limit).offset(query.offset).execute(),
      base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
      this.q.selectFrom('run_params').select('key').distinct().where('run_id', 'in', matching).orderBy('key').limit(200).execute(),
      this.q.selectFrom('run_latest_metrics').select('key').distinct().where('run_id', 'in', matching).orderBy('key').limit(200).execute(),
    ]);
    return { ids: rows.map((r) => r.id), total: Number(count.n), paramKeys: params.map((p) => p.key), metricKeys: metrics.map((m) => m.key) };
  }

  /**
   * One metric of the given runs as [step, value] points by step. A run with more than `points`
   * points is split into `points / 2` equal step ranges and each keeps its lowest and highest point,
   * so spikes survive; the database does the cut, so only the kept points leave it.
   */
  async metricSeries(runIds: string[], key: string, points: number): Promise<Map<string, RunMetricSeries>> {
    const buckets = Math.max(1, Math.floor(points / 2));
    const ids = sql.join(runIds);
    const result = await sql<{ run_id: string; step: number | string; value: number | string; n: number | string }>`
      with r as (
        select run_id, min(step) as lo, max(step) as hi, count(*) as n from run_metrics
        where key = ${key} and run_id in (${ids}) group by run_id
      ),
      b as (
        select m.run_id, m.step, m.timestamp, m.value, r.n, ((m.step - r.lo) * ${sql.lit(buckets)}) / (r.hi - r.lo + 1) as bucket
        from run_metrics m join r on r.run_id = m.run_id
        where m.key = ${key} and r.n > ${sql.lit(points)}
      ),
      w as (
        select run_id, step, timestamp, value, n,
          row_number() over (partition by run_id, bucket order by value asc, step asc, timestamp asc) as a,
          row_number() over (partition by run_id, bucket order by value desc, step asc, timestamp asc) as d
        from b
      )
      select run_id, step, value, n from w where a = 1 or d = 1
      union all
      select m.run_id, m.step, m.value, r.n from run_metrics m join r on r.run_id = m.run_id
      where m.key = ${key} and r.n <= ${sql.lit(points)}
    `.execute(this.db.as<RegistryTables>());
    const out = new Map<string, RunMetricSeries>();
    for (const row of result.rows) {
      let s = out.get(row.run_id);
      if (!s) out.set(row.run_id, (s = { runId: row.run_id, key, total: Number(row.n), points: [] }));
      s.points.push([Number(row.step), Number(row.value)]);
    }
    for (const s of out.values()) s.points.sort((x, y) => x[0] - y[0]);
    return out;
  }
}
