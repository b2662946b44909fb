import type { Kysely } from 'kysely';

/**
 * The tokens a fenced write carries: the execution's lease token (which runner drives it) and, for
 * a write of one attempt, the attempt's token (`null` matches a step with no attempt yet). A write
 * whose tokens no longer match changes nothing.
 */
export interface Fence {
  lease: string;
  attempt?: string | null;
}

/**
 * Compare-and-set on one `pipeline_steps` row: applies `set` only while the execution's lease token
 * and (when given) the attempt token still match; true when the row was changed. On PostgreSQL the
 * UPDATE also locks the row until the surrounding transaction ends, so a write that must go with
 * the check (log lines) is ordered before any token change.
 */
export async function fencedStepUpdate(k: Kysely<any>, executionId: string, step: string, set: Record<string, unknown>, fence: Fence): Promise<boolean> {
  let q = k
    .updateTable('pipeline_steps')
    .set(set)
    .where('execution_id', '=', executionId)
    .where('name', '=', step)
    .where((eb) => eb.exists(eb.selectFrom('pipeline_executions').select('id').where('id', '=', executionId).where('lease_token', '=', fence.lease)));
  if (fence.attempt !== undefined) q = fence.attempt === null ? q.where('attempt_token', 'is', null) : q.where('attempt_token', '=', fence.attempt);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
