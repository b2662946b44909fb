import type { Database } from '../database.js';

/**
 * Leaves job `jobId` as a worker SIGKILLed (or stuck) on its final attempt leaves it: running, every
 * attempt spent, its lease already run out; the next claimer's reaper then marks it dead.
 */
export async function abandonOnFinalAttempt(db: Database, jobId: string): Promise<void> {
  await db.kysely
    .updateTable('jobs')
    .set((eb) => ({ state: 'running', attempts: eb.ref('max_attempts'), lease_owner: 'killed-worker', lease_expires_at: Date.now() - 1 }))
    .where('id', '=', jobId)
    .execute();
}
