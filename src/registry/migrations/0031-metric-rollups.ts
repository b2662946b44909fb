import type { Kysely, Migration } from 'kysely';
import type { RegistryTables } from '../registry-tables.js';
import { writeRollups } from '../sql-metric-rollups.js';

/** Points read at a time while summarising series logged before this migration. */
const PAGE = 50_000;

/** Summarises one series already logged, a page of points at a time, never splitting a step across pages. */
async function backfillSeries(db: Kysely<RegistryTables>, runId: string, key: string): Promise<void> {
  let from = -1;
  for (;;) {
    const page = await db.selectFrom('run_metrics').select(['step', 'value']).where('run_id', '=', runId).where('key', '=', key).where('step', '>', from).orderBy('step').limit(PAGE).execute();
    if (page.length === 0) return;
    let points = page.map((p) => ({ key, step: Number(p.step), value: Number(p.value) }));
    const last = points[points.length - 1].step;
    if (page.length === PAGE) {
      // The last step may continue on the next page: it is read whole below.
      points = points.filter((p) => p.step !== last);
      const rest = await db.selectFrom('run_metrics').select(['step', 'value']).where('run_id', '=', runId).where('key', '=', key).where('step', '=', last).execute();
      points.push(...rest.map((p) => ({ key, step: last, value: Number(p.value) })));
    }
    await writeRollups(db, runId, points);
    if (page.length < PAGE) return;
    from = last;
  }
}

/**
 * Metric series summarised per bucket of 16 … 4^12 steps as they are logged, so the console's charts
 * read a few hundred rows per run whatever the series' length (src/registry/metric-rollups.ts);
 * series logged before this migration are summarised here.
 */
export const metricRollups: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('run_metric_rollups')
      .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id'))
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('width', 'bigint', (c) => c.notNull())
      .addColumn('bucket', 'bigint', (c) => c.notNull())
      .addColumn('n', 'bigint', (c) => c.notNull())
      .addColumn('first_step', 'bigint', (c) => c.notNull())
      .addColumn('last_step', 'bigint', (c) => c.notNull())
      .addColumn('min_step', 'bigint', (c) => c.notNull())
      .addColumn('min_value', 'double precision', (c) => c.notNull())
      .addColumn('max_step', 'bigint', (c) => c.notNull())
      .addColumn('max_value', 'double precision', (c) => c.notNull())
      .addPrimaryKeyConstraint('run_metric_rollups_pk', ['key', 'width', 'run_id', 'bucket'])
      .execute();
    const q = db as Kysely<RegistryTables>;
    const series = await q.selectFrom('run_latest_metrics').select(['run_id', 'key']).orderBy('run_id').orderBy('key').execute();
    for (const s of series) await backfillSeries(q, s.run_id, s.key);
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('run_metric_rollups').execute();
  },
};
