import type { Migration } from 'kysely';
import { foundation } from './0001-foundation.js';
import { outbox } from './0009-outbox.js';

/**
 * The storage layer's own migrations (the job queue; `0001` also created the `api_keys` table before
 * auth became its own context, and applied migrations never change). Each context lists its own in
 * its module; the platform merges them all (`src/platform/migrations.ts`) and Kysely applies them in
 * name order, so every new migration takes the next free number across the platform.
 */
export const storageMigrations: Readonly<Record<string, Migration>> = {
  '0001_foundation': foundation,
  '0009_outbox': outbox,
};
