import type { Command } from 'commander';
import { openDatabase } from '../../storage/database.js';
import { migrateToLatest, migrationStatus } from '../../storage/migrator.js';
import { platformMigrations } from '../../platform/migrations.js';
import { allOptions, configFrom, printResult, table } from '../cli-context.js';

/** `capstan migrate`: applies pending migrations to the configured metadata DB, or shows their status. */
export function migrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending metadata DB migrations (the server also applies them at start)')
    .option('--status', 'list migrations and when each was applied, change nothing')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const { status } = allOptions<{ status?: boolean }>(cmd);
      const config = configFrom(cmd);
      const db = await openDatabase(config.databaseUrl, { synchronous: config.sqlite.synchronous, busyTimeoutMs: config.sqlite.busyTimeoutMs, migrate: false });
      try {
        if (status) {
          const migrations = await migrationStatus(db, platformMigrations);
          const pending = migrations.filter((m) => !m.appliedAt).map((m) => m.name);
          printResult(cmd, { database: db.displayUrl, migrations, pending }, () =>
            [`database: ${db.displayUrl}`, table(migrations.map((m) => ({ migration: m.name, applied: m.appliedAt ?? 'pending' })))].join('\n'),
          );
          return;
        }
        const report = await migrateToLatest(db, platformMigrations);
        printResult(cmd, { database: db.displayUrl, ...report }, () =>
          [
            `database: ${db.displayUrl}`,
            report.applied.length ? `applied: ${report.applied.join(', ')}` : 'applied: nothing (already up to date)',
            `current: ${report.current ?? '(none)'}`,
          ].join('\n'),
        );
      } finally {
        await db.close();
      }
    });
}
