import type { Kysely, Migration } from 'kysely';

/**
 * A decision record also keeps the part of its snapshot a replay reads — input, each task's name,
 * type, status and output, outcome, reasons, output fields, error — as its own JSON (`replay`).
 * Replay spent a third of its time parsing whole snapshots (request and response bodies, feature
 * event times, the rule trace: ~2.7 KB) for a fifth of their bytes. Records stored before this
 * migration have none, and replay reads their snapshot as before.
 */
export const recordReplayProjection: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('decision_records').addColumn('replay', 'text').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('decision_records').dropColumn('replay').execute();
  },
};
