import { Migrator, type Migration, type MigrationResultSet } from 'kysely';
import { CapstanError } from '../core/errors.js';
import type { Database } from './database.js';

/** The outcome of a migration run, for `capstan migrate --json`. */
export interface MigrationReport {
  applied: string[];
  current: string | null;
}

function migrator(db: Database, migrations: Readonly<Record<string, Migration>>): Migrator {
  const provider = { getMigrations: async (): Promise<Record<string, Migration>> => ({ ...migrations }) };
  return new Migrator({ db: db.kysely, provider, migrationTableName: 'capstan_migrations', migrationLockTableName: 'capstan_migrations_lock' });
}

function report(result: MigrationResultSet, all: string[]): MigrationReport {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    throw new CapstanError('CAPSTAN_DB_MIGRATION_FAILED', `migration ${failed ?? '(unknown)'} failed`, { cause: result.error, fields: { migration: failed } });
  }
  const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  return { applied, current: all.length ? all[all.length - 1] : null };
}

/**
 * Applies every pending migration of `migrations` (the platform's whole set, since Kysely refuses a
 * set that lacks an applied one); safe to call from several processes at once (Kysely takes a lock).
 */
export async function migrateToLatest(db: Database, migrations: Readonly<Record<string, Migration>>): Promise<MigrationReport> {
  return report(await migrator(db, migrations).migrateToLatest(), Object.keys(migrations).sort());
}

/** Names of the applied and pending migrations of `migrations`. */
export async function migrationStatus(db: Database, migrations: Readonly<Record<string, Migration>>): Promise<{ name: string; appliedAt: string | null }[]> {
  const list = await migrator(db, migrations).getMigrations();
  return list.map((m) => ({ name: m.name, appliedAt: m.executedAt ? m.executedAt.toISOString() : null }));
}

/** Resolves when the database answers a read of the migrations table (readiness); CAPSTAN_DB_UNAVAILABLE otherwise. */
export async function assertDatabaseReady(db: Database): Promise<void> {
  try {
    await db.kysely.selectFrom('capstan_migrations').select('name').limit(1).execute();
  } catch (err) {
    throw new CapstanError('CAPSTAN_DB_UNAVAILABLE', 'the metadata database did not answer', { cause: err });
  }
}
