import { sql, type Kysely, type RawBuilder } from 'kysely';
import { rollupPoints, type Rollup } from './metric-rollups.js';
import type { RegistryTables, RollupRow } from './registry-tables.js';

/** Rows per insert: 11 columns each stays under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;

/** One column of the extreme point that wins a merge: the stored one unless `excluded` is lower (min) or higher (max), or equal at an earlier step. */
function keepExtreme(value: 'min' | 'max', column: 'step' | 'value'): RawBuilder<number> {
  const cmp = sql.raw(value === 'min' ? '<' : '>');
  const v = sql.ref(`excluded.${value}_value`);
  const cur = sql.ref(`run_metric_rollups.${value}_value`);
  const s = sql.ref(`excluded.${value}_step`);
  const curStep = sql.ref(`run_metric_rollups.${value}_step`);
  return sql<number>`case when ${v} ${cmp} ${cur} or (${v} = ${cur} and ${s} < ${curStep}) then ${sql.ref(`excluded.${value}_${column}`)} else ${sql.ref(`run_metric_rollups.${value}_${column}`)} end`;
}

/**
 * Folds a batch of one run's points into its stored rollups, inside the caller's transaction: each
 * touched bucket is inserted or merged in SQL (counts add, ranges widen, the lower minimum and higher
 * maximum win), so concurrent writers of the same run never lose each other's points.
 */
export async function writeRollups(t: Kysely<RegistryTables>, runId: string, points: readonly { key: string; step: number; value: number }[]): Promise<void> {
  const byKey = new Map<string, { step: number; value: number }[]>();
  for (const p of points) {
    const list = byKey.get(p.key);
    if (list) list.push(p);
    else byKey.set(p.key, [p]);
  }
  const rows: RollupRow[] = [];
  for (const [key, list] of byKey) {
    for (const r of rollupPoints(list)) {
      rows.push({ run_id: runId, key, width: r.width, bucket: r.bucket, n: r.n, first_step: r.firstStep, last_step: r.lastStep, min_step: r.minStep, min_value: r.minValue, max_step: r.maxStep, max_value: r.maxValue });
    }
  }
  for (let i = 0; i < rows.length; i += CHUNK) {
    await t
      .insertInto('run_metric_rollups')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) =>
        oc.columns(['run_id', 'key', 'width', 'bucket']).doUpdateSet({
          n: sql`run_metric_rollups.n + excluded.n`,
          first_step: sql`case when excluded.first_step < run_metric_rollups.first_step then excluded.first_step else run_metric_rollups.first_step end`,
          last_step: sql`case when excluded.last_step > run_metric_rollups.last_step then excluded.last_step else run_metric_rollups.last_step end`,
          min_step: keepExtreme('min', 'step'),
          min_value: keepExtreme('min', 'value'),
          max_step: keepExtreme('max', 'step'),
          max_value: keepExtreme('max', 'value'),
        }),
      )
      .execute();
  }
}

/** One level of one metric of the given runs, by run. */
export async function readRollups(q: Kysely<RegistryTables>, runIds: string[], key: string, width: number): Promise<Map<string, Rollup[]>> {
  const out = new Map<string, Rollup[]>();
  if (runIds.length === 0) return out;
  const rows = await q.selectFrom('run_metric_rollups').selectAll().where('key', '=', key).where('width', '=', width).where('run_id', 'in', runIds).execute();
  for (const r of rows) {
    let list = out.get(r.run_id);
    if (!list) out.set(r.run_id, (list = []));
    list.push({
      width,
      bucket: Number(r.bucket),
      n: Number(r.n),
      firstStep: Number(r.first_step),
      lastStep: Number(r.last_step),
      minStep: Number(r.min_step),
      minValue: Number(r.min_value),
      maxStep: Number(r.max_step),
      maxValue: Number(r.max_value),
    });
  }
  return out;
}
