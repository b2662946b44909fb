import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { runningInCi } from '../../core/config.js';
import { openDatabase, type Database, type DatabaseOptions } from '../database.js';
import { platformMigrations } from '../../platform/migrations.js';

/** One dialect a contract suite runs against. */
export interface TestDatabaseFactory {
  name: 'sqlite' | 'postgres';
  /** Why this dialect cannot run here (only ever set outside CI); undefined when it can. */
  skip?: string;
  /** Creates an empty, migrated database and its URL; `dispose` drops it. */
  create(options?: DatabaseOptions): Promise<TestDatabase>;
}

/** A throwaway database for one test. */
export interface TestDatabase {
  db: Database;
  url: string;
  dispose(): Promise<void>;
}

const DEFAULT_PG = 'postgres://postgres@127.0.0.1:5432/test';

/** The PostgreSQL admin URL tests create databases through, or undefined when none is configured. */
export function testPostgresUrl(env: Record<string, string | undefined> = process.env): string | undefined {
  return env.CAPSTAN_TEST_DATABASE_URL || (runningInCi(env) ? undefined : DEFAULT_PG);
}

async function postgresReachable(url: string): Promise<string | undefined> {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL not reachable at ${url}: ${(err as Error).message}`;
  } finally {
    await client.end().catch(() => {});
  }
}

async function adminQuery(adminUrl: string, text: string): Promise<void> {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * The dialects every contract suite runs against. Under CI, PostgreSQL is mandatory: an unreachable
 * server or a missing CAPSTAN_TEST_DATABASE_URL fails the suite instead of skipping it.
 */
export async function testDatabases(): Promise<TestDatabaseFactory[]> {
  const sqlite: TestDatabaseFactory = {
    name: 'sqlite',
    async create(options) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-db-'));
      const url = `sqlite://${path.join(dir, 'capstan.db')}`;
      const db = await openDatabase(url, { migrations: platformMigrations, ...options });
      return { db, url, dispose: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
    },
  };
  const adminUrl = testPostgresUrl();
  if (!adminUrl) {
    throw new Error('CI=true but CAPSTAN_TEST_DATABASE_URL is not set: the PostgreSQL suites must run in CI');
  }
  const skip = await postgresReachable(adminUrl);
  if (skip && runningInCi()) throw new Error(`CI=true and ${skip}`);
  const postgres: TestDatabaseFactory = {
    name: 'postgres',
    skip,
    async create(options) {
      const name = `capstan_t_${randomBytes(6).toString('hex')}`;
      await adminQuery(adminUrl, `create database ${name}`);
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      const url = u.toString();
      const db = await openDatabase(url, { migrations: platformMigrations, poolSize: 5, ...options });
      return {
        db,
        url,
        dispose: async () => {
          await db.close();
          await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
        },
      };
    },
  };
  return [sqlite, postgres];
}
