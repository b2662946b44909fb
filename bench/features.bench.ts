// npm run bench:features — the feature store's online reads, point-in-time joins and materialization.
//
// 1. Point-in-time join: generates 3 feature groups of 3 float features (BENCH_FEATURE_ROWS rows
//    each, default 10M, so 30M in all, over 200k users and 90 days, date-partitioned Parquet in the artifact store)
//    and an entity table of BENCH_ENTITY_ROWS (default 1M) rows; builds the training set with the
//    feature service (DuckDB, as-of-known-time on) and reports rows/s and the process's peak RSS.
// 2. Materialization: one of those groups offline → the SQLite online store (rows/s of record ids).
// 3. Online reads over HTTP: a `capstan server` process (SQLite online store), group of 10 features,
//    10k users; autocannon from another process, 10 connections: 1 entity per request unthrottled
//    (online_req_per_s) and at an offered 5,000 req/s (online_p99_ms, the target's condition), 100
//    entities unthrottled (online_p99_ms_100); then the server on the Redis online store, 1 entity at
//    5,000 req/s (redis_p99_ms). Baseline: GET /healthz on the same server, same run.
// The last line is JSON: {"online_req_per_s","online_p99_ms","online_p99_ms_100","redis_p99_ms",
// "pit_rows_per_s","pit_peak_rss_mb","materialize_rows_per_s","errors"}.
// Env: BENCH_WARMUP_S (5), BENCH_DURATION_S (30), BENCH_CONNECTIONS (10), BENCH_RATE (5000), BENCH_FEATURE_ROWS, BENCH_ENTITY_ROWS,
//      BENCH_REDIS_URL (redis://127.0.0.1:6379).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Redis } from 'ioredis';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import type { FeatureService } from '../src/features/index.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import type { LoadResult } from './support/autocannon.js';
import { log } from './support/log.js';
import { measureLoad } from './support/measure-load.js';
import { printResult } from './support/print-result.js';
import { startCapstanServer } from './support/start-process.js';
import { stopProcess } from './support/stop-process.js';

const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 30);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
// The target's load: p99 is read at this offered rate (autocannon -R); req/s is read unthrottled.
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const FEATURE_ROWS = Number(process.env.BENCH_FEATURE_ROWS ?? 10_000_000);
const ENTITY_ROWS = Number(process.env.BENCH_ENTITY_ROWS ?? 1_000_000);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const USERS = 200_000;
const ONLINE_USERS = 10_000;
const DAY = 86_400_000;

async function open(home: string, flags: Record<string, unknown> = {}): Promise<Platform> {
  return openPlatform({ config: compileConfig({ flags: { home, 'features.offlineMemoryLimit': '2GB', ...flags }, env: {}, cwd: home }), logger: silentLogger() });
}

/** Writes the three groups' Parquet files (date-partitioned, the offline layout) and the entity table with DuckDB. */
async function generate(dir: string, base: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const inst = await DuckDBInstance.create(':memory:', { memory_limit: '1GB' });
  const conn = await inst.connect();
  const perGroup = FEATURE_ROWS;
  for (let g = 0; g < 3; g++) {
    const ev = `(${base - 90 * DAY} + (hash(i * 7 + ${g}) % ${90 * DAY}))::BIGINT`;
    await conn.run(`COPY (
      SELECT (hash(i * 3 + ${g}) % ${USERS})::BIGINT AS user_id, ${ev} AS __event_ms, ${ev} AS __created_ms, ${base - DAY}::BIGINT AS __ingested_ms,
        (i % 1000) / 10.0 AS f${g}_a, (i % 77)::DOUBLE AS f${g}_b, random() AS f${g}_c,
        strftime(epoch_ms(${ev}), '%Y-%m-%d') AS event_date
      FROM range(${perGroup}) t(i)
    ) TO '${path.join(dir, `g${g}`)}' (FORMAT parquet, PARTITION_BY (event_date), COMPRESSION zstd)`);
  }
  await conn.run(`COPY (
    SELECT (hash(i * 11) % ${USERS})::BIGINT AS user_id, strftime(epoch_ms((${base - 80 * DAY} + (hash(i * 13) % ${80 * DAY}))::BIGINT), '%Y-%m-%dT%H:%M:%S.%gZ') AS event_timestamp
    FROM range(${ENTITY_ROWS}) t(i)
  ) TO '${path.join(dir, 'entities.parquet')}' (FORMAT parquet)`);
  conn.closeSync();
  inst.closeSync();
}

/** A warm-up then a measured run with BENCH_CONNECTIONS; unthrottled unless rate is given. */
function measure(name: string, url: string, body?: string, rate?: number): Promise<LoadResult> {
  return measureLoad(name, url, { connections: CONNECTIONS, seconds: DURATION_S, warmupSeconds: WARMUP_S, rate, body });
}

const FEATURES = Array.from({ length: 10 }, (_, i) => `f${i}`);

/** The online group: 10 float features of ONLINE_USERS users, pushed and materialized. */
async function seedOnline(features: FeatureService, group: string): Promise<void> {
  await features.apply({
    entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
    featureGroups: [{ name: group, entities: ['user'], eventTime: 'ts', ttl: '30d', features: FEATURES.map((name) => ({ name, type: 'float64' as const })) }],
  });
  const ts = new Date(Date.now() - 60_000).toISOString();
  for (let start = 0; start < ONLINE_USERS; start += 5000) {
    const batch = Array.from({ length: 5000 }, (_, i) => ({ user_id: start + i, ts, ...Object.fromEntries(FEATURES.map((f, j) => [f, (start + i) * 0.5 + j])) }));
    await features.pushRecords(group, batch);
  }
  await features.materialize(group);
}

function onlineBody(group: string, entities: number): string {
  return JSON.stringify({ features: FEATURES.map((f) => `${group}:${f}`), entities: Array.from({ length: entities }, (_, i) => ({ user_id: (i * 97) % ONLINE_USERS })) });
}

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-features-bench-'));
  const redisGroup = `bench-redis-${process.pid}`;
  try {
    // 1. Point-in-time join.
    const base = Date.parse('2026-01-01T00:00:00Z');
    const data = path.join(home, 'generated');
    log(`generating ${FEATURE_ROWS} feature rows in each of 3 groups and ${ENTITY_ROWS} entity rows …`);
    let t = performance.now();
    await generate(data, base);
    log(`generated in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    let platform = await open(home);
    let features = platform.context<FeatureService>('features');
    await features.apply({
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
      featureGroups: [0, 1, 2].map((g) => ({
        name: `g${g}`,
        entities: ['user'],
        eventTime: 'event_time',
        ttl: '30d',
        features: ['a', 'b', 'c'].map((s) => ({ name: `f${g}_${s}`, type: 'float64' as const })),
      })),
    });
    for (let g = 0; g < 3; g++) await platform.artifacts.uploadDirectory(path.join(data, `g${g}`), `features/offline/g${g}/v1`);
    const refs = [0, 1, 2].flatMap((g) => ['a', 'b', 'c'].map((s) => `g${g}:f${g}_${s}`));
    log('building the point-in-time training set …');
    t = performance.now();
    const set = await features.trainingSet({ entities: { path: path.join(data, 'entities.parquet') }, features: refs, out: { key: 'bench/training-set.parquet' } });
    const pitSeconds = (performance.now() - t) / 1000;
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    log(`PIT: ${set.rows} rows in ${pitSeconds.toFixed(1)} s; nulls ${set.features[0].nulls}, expired ${set.features[0].expired} (g0); peak RSS ${peakRssMb.toFixed(0)} MB`);
    // Baseline: a plain DuckDB scan of the same feature files (no join), same run.
    t = performance.now();
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    await conn.runAndReadAll(`SELECT count(*), sum(f0_a) FROM read_parquet('${path.join(data, 'g0')}/*/*.parquet')`);
    conn.closeSync();
    inst.closeSync();
    log(`baseline: plain DuckDB scan of group g0 (${FEATURE_ROWS} rows) in ${((performance.now() - t) / 1000).toFixed(2)} s`);

    // 2. Materialization of g0 into the SQLite online store.
    t = performance.now();
    const mat = await features.materialize('g0');
    const matSeconds = (performance.now() - t) / 1000;
    log(`materialize g0: ${mat.rowsRead} record ids in ${matSeconds.toFixed(1)} s`);

    // 3. Online reads over HTTP.
    await seedOnline(features, 'online');
    await platform.close();
    rmSync(data, { recursive: true, force: true });
    let server = await startCapstanServer({ CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'warn' });
    const health = await measure('baseline GET /healthz', `${server.url}/healthz`);
    const one = await measure('online, 10 features x 1 entity (SQLite)', `${server.url}/api/v1/features/online`, onlineBody('online', 1));
    const oneAtRate = await measure('online, 10 features x 1 entity (SQLite)', `${server.url}/api/v1/features/online`, onlineBody('online', 1), RATE);
    const hundred = await measure('online, 10 features x 100 entities (SQLite)', `${server.url}/api/v1/features/online`, onlineBody('online', 100));
    await stopProcess(server.child);
    platform = await open(home, { 'features.onlineStore': 'redis', 'features.redisUrl': REDIS_URL });
    features = platform.context<FeatureService>('features');
    await seedOnline(features, redisGroup);
    await platform.close();
    server = await startCapstanServer({ CAPSTAN_HOME: home, CAPSTAN_LOG_LEVEL: 'warn', CAPSTAN_FEATURES_ONLINE_STORE: 'redis', CAPSTAN_FEATURES_REDIS_URL: REDIS_URL });
    const redis = await measure('online, 10 features x 1 entity (Redis)', `${server.url}/api/v1/features/online`, onlineBody(redisGroup, 1), RATE);
    await stopProcess(server.child);
    const errors = [health, one, oneAtRate, hundred, redis].reduce((n, r) => n + r.errors + r.non2xx, 0);
    log(`baseline GET /healthz: ${health.reqPerSec.toFixed(0)} req/s, p99 ${health.p99} ms`);
    printResult({
      online_req_per_s: Math.round(one.reqPerSec),
      online_p99_ms: oneAtRate.p99,
      online_p99_ms_100: hundred.p99,
      redis_p99_ms: redis.p99,
      pit_rows_per_s: Math.round(set.rows / pitSeconds),
      pit_peak_rss_mb: Math.round(peakRssMb),
      materialize_rows_per_s: Math.round(mat.rowsRead / matSeconds),
      errors,
    });
  } finally {
    const r = new Redis(REDIS_URL);
    await r.del(`capstan:features:${redisGroup}@1`).catch(() => {});
    r.disconnect();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
