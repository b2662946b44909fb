import type { Kysely, Migration } from 'kysely';

/**
 * API keys may carry an AWS SigV4 access-key pair, so unmodified SageMaker Runtime clients can sign
 * their requests. The secret access key is stored sealed (SecretBox), not hashed: verifying a SigV4
 * signature needs the secret itself.
 */
export const sigv4Keys: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('api_keys').addColumn('access_key_id', 'text').execute();
    await db.schema.alterTable('api_keys').addColumn('sigv4_secret', 'text').execute();
    await db.schema.createIndex('api_keys_access_key_id').on('api_keys').column('access_key_id').unique().execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('api_keys_access_key_id').execute();
    await db.schema.alterTable('api_keys').dropColumn('sigv4_secret').execute();
    await db.schema.alterTable('api_keys').dropColumn('access_key_id').execute();
  },
};
