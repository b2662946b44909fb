import { sql, type Kysely } from 'kysely';
import { CapstanError } from '../core/errors.js';
import { assertName } from '../core/names.js';
import type { Database } from '../storage/database.js';
import type { RunStatus } from './registry-service.js';
import type { RegistryTables } from './registry-tables.js';
import { mergeRollups, seriesSummary, SUMMARY_WIDTH, widthFor } from './metric-rollups.js';
import type { RunMetricSeries, RunSort } from './run-search.js';
import { readRollups } from './sql-metric-rollups.js';

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
 * to a fixed number of points per run from stored rollups (a bucket keeps its lowest and highest point).
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
   * so spikes survive. The cut reads the series' stored rollups (between `points / 2` and `2 · points`
   * rows per run whatever its length); only a series dense in few steps is cut from its points.
   */
  async metricSeries(runIds: string[], key: string, points: number): Promise<Map<string, RunMetricSeries>> {
    const buckets = Math.max(1, Math.floor(points / 2));
    const rows: { run_id: string; step: number | string; value: number | string; n: number | string }[] = [];
    const summaries = await readRollups(this.q, runIds, key, SUMMARY_WIDTH);
    const short = new Map<string, number>();
    type Long = { runId: string; n: number; firstStep: number; lastStep: number };
    const byWidth = new Map<number, Long[]>();
    const dense: Long[] = [];
    for (const [runId, top] of summaries) {
      const { n, firstStep, lastStep } = seriesSummary(top);
      if (n <= points) {
        short.set(runId, n);
        continue;
      }
      const width = widthFor(firstStep, lastStep, buckets);
      const run = { runId, n, firstStep, lastStep };
      if (width === undefined) dense.push(run);
      else if (byWidth.has(width)) byWidth.get(width)!.push(run);
      else byWidth.set(width, [run]);
    }
    if (short.size) {
      const all = await this.q.selectFrom('run_metrics').select(['run_id', 'step', 'value']).where('run_id', 'in', [...short.keys()]).where('key', '=', key).execute();
      for (const r of all) rows.push({ run_id: r.run_id, step: r.step, value: r.value, n: short.get(r.run_id)! });
    }
    for (const [width, runs] of byWidth) {
      const levels = await readRollups(this.q, runs.map((r) => r.runId), key, width);
      for (const run of runs) {
        for (const [step, value] of mergeRollups(levels.get(run.runId) ?? [], run.firstStep, run.lastStep, buckets)) rows.push({ run_id: run.runId, step, value, n: run.n });
      }
    }
    for (const { runId, n, firstStep: lo, lastStep } of dense) {
      const width = lastStep - lo + 1;
      const bucket = sql`((step - ${sql.lit(lo)}) * ${sql.lit(buckets)}) / ${sql.lit(width)}`;
      const where = sql`run_id = ${runId} and key = ${key}`;
      // Each step range keeps the point with its lowest and the one with its highest value. SQLite takes
      // a bare column from the row holding the min() or max(); PostgreSQL picks that row with DISTINCT ON.
      const query =
        this.db.dialect === 'sqlite'
          ? sql<{ step: number; value: number }>`select step, min(value) as value from run_metrics where ${where} group by ${bucket}
              union all select step, max(value) as value from run_metrics where ${where} group by ${bucket}`
          : sql<{ step: number; value: number }>`select * from (select distinct on (${bucket}) step, value from run_metrics where ${where} order by ${bucket}, value asc, step asc) a
              union all select * from (select distinct on (${bucket}) step, value from run_metrics where ${where} order by ${bucket}, value desc, step asc) b`;
      const seen = new Set<string>();
      for (const r of (await query.execute(this.q)).rows) {
        const id = `${r.step}:${r.value}`;
        if (seen.has(id)) continue;
        seen.add(id);
        rows.push({ run_id: runId, step: r.step, value: r.value, n });
      }
    }
    const out = new Map<string, RunMetricSeries>();
    for (const row of rows) {
      let s = out.get(row.run_id);
      if (!s) out.set(row.run_id, (s = { runId: row.run_id, key, total: Number(row.n), points: [] }));
      s.points.push([Number(row.step), Number(row.value)]);
    }
    for (const s of out.values()) s.points.sort((x, y) => x[0] - y[0]);
    return out;
  }
}
