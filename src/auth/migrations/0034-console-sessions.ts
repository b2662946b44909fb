import type { Kysely, Migration } from 'kysely';

/**
 * Console sessions live in the metadata database, so every API server behind a load balancer knows
 * every session and a sign-out or expiry holds everywhere. The session id is stored hashed: the
 * table alone never yields a usable cookie.
 */
export const consoleSessions: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('console_sessions')
      .addColumn('id_hash', 'text', (c) => c.primaryKey())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('csrf_token', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('console_sessions_expires').on('console_sessions').column('expires_at').execute();
    await db.schema.createIndex('console_sessions_key').on('console_sessions').column('key_id').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('console_sessions').execute();
  },
};
