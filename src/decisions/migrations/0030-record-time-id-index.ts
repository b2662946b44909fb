import type { Kysely, Migration } from 'kysely';

/**
 * Replay and export page through a use case's records in (created_at, id) order. With the index on
 * (usecase, created_at) alone every page sorted its rows by id in a temporary B-tree; (usecase,
 * created_at, id) hands them over in order, so a page reads only its own rows. It replaces the old
 * index, whose columns it starts with.
 */
export const recordTimeIdIndex: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('decision_records_usecase_time_id_idx').on('decision_records').columns(['usecase', 'created_at', 'id']).execute();
    await db.schema.dropIndex('decision_records_usecase_idx').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.createIndex('decision_records_usecase_idx').on('decision_records').columns(['usecase', 'created_at']).execute();
    await db.schema.dropIndex('decision_records_usecase_time_id_idx').execute();
  },
};
