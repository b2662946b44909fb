import type { Migration } from 'kysely';
import { CapstanError } from '../core/errors.js';
import type { ContextModule } from '../storage/context-module.js';
import { storageMigrations } from '../storage/migrations/index.js';
import { contextModules } from './contexts.js';

/**
 * The storage layer's migrations plus every context's, by applied name. Kysely applies them in name
 * order, so a context's new migration takes the next free number across the whole platform; a name
 * two owners claim is refused (CAPSTAN_CONFIG_CONTEXT_DUPLICATE) rather than one silently winning.
 */
export function collectMigrations(modules: readonly ContextModule<any>[] = contextModules): Record<string, Migration> {
  const all: Record<string, Migration> = { ...storageMigrations };
  const owners = new Map<string, string>(Object.keys(storageMigrations).map((name) => [name, 'storage']));
  for (const module of modules) {
    for (const [name, migration] of Object.entries(module.migrations)) {
      const owner = owners.get(name);
      if (owner) throw new CapstanError('CAPSTAN_CONFIG_CONTEXT_DUPLICATE', `migration ${name} is claimed by both ${owner} and ${module.name}`, { fields: { migration: name } });
      owners.set(name, module.name);
      all[name] = migration;
    }
  }
  return Object.fromEntries(Object.keys(all).sort().map((name) => [name, all[name]]));
}

/** Every migration of the installed platform, the set `openPlatform` and `capstan migrate` apply. */
export const platformMigrations: Readonly<Record<string, Migration>> = collectMigrations();
