import type { Kysely, Migration } from 'kysely';

/**
 * Deployment lineage: for each green variant whose model version was trained from a registered
 * repository, the repository and commit (JSON), so a deployment names the code it put in service.
 */
export const deploymentLineage: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('deployments').addColumn('lineage', 'text').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('deployments').dropColumn('lineage').execute();
  },
};
