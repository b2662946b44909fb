import type { Kysely, Migration } from 'kysely';

/**
 * Fencing tokens for pipeline executions and step attempts (docs/decisions/0006-pipeline-attempt-fencing.md):
 * every write a runner makes must name the execution's current lease token, and every write of an
 * attempt (state, outputs, logs, registry run) also the attempt's token, so a runner or attempt that
 * lost its lease cannot change anything. The attempt row also records what a restart must clean up:
 * the process group of the step's child and the registry run it keeps.
 */
export const pipelineFencing: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('pipeline_executions').addColumn('lease_token', 'text').execute();
    await db.schema.alterTable('pipeline_steps').addColumn('attempt_token', 'text').execute();
    // Which scheduler ran the attempt (`host:pid:…`), so only a process on the same host signals its group.
    await db.schema.alterTable('pipeline_steps').addColumn('attempt_owner', 'text').execute();
    await db.schema.alterTable('pipeline_steps').addColumn('attempt_pgid', 'integer').execute();
    await db.schema.alterTable('pipeline_steps').addColumn('attempt_run_id', 'text').execute();
  },
  async down(db: Kysely<any>) {
    for (const c of ['attempt_run_id', 'attempt_pgid', 'attempt_owner', 'attempt_token']) await db.schema.alterTable('pipeline_steps').dropColumn(c).execute();
    await db.schema.alterTable('pipeline_executions').dropColumn('lease_token').execute();
  },
};
