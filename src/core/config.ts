import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CapstanError, isCapstanError } from './errors.js';
import type { LogFormat } from './logger.js';
import { parseUserYaml } from './user-yaml.js';
import { settings, type Setting } from './settings.js';

export { settings, settingsTable } from './settings.js';

/**
 * Capstan's configuration, resolved once from flags > `CAPSTAN_*` environment > `capstan.yaml` >
 * defaults. One table (`settings`) drives parsing, validation, redaction and `docs/configuration.md`.
 */
export interface CapstanConfig {
  /** Directory for the SQLite file and local artifacts. Default `./.capstan`. */
  home: string;
  /** `sqlite://<file>` or `postgres://…`. Default `sqlite://$CAPSTAN_HOME/capstan.db`. */
  databaseUrl: string;
  /** `file://<dir>` or `s3://bucket/prefix`. Default `file://$CAPSTAN_HOME/artifacts`. */
  artifacts: string;
  s3: {
    /** Custom endpoint (MinIO, s3rver); default: AWS. */
    endpoint?: string;
    /** Default `us-east-1`. */
    region: string;
    /** Path-style addressing, needed by MinIO; default true when an endpoint is set. */
    forcePathStyle: boolean;
    accessKeyId?: string;
    secretAccessKey?: string;
  };
  server: {
    /** Bind address; default `127.0.0.1`. */
    host: string;
    /** Default 7070. */
    port: number;
    /** Require API keys; default false on loopback. A non-loopback bind without auth is refused. */
    auth: boolean;
    /** Body limit of API routes in bytes; default 1 MiB. */
    bodyLimit: number;
    /** Body limit of invocation routes in bytes; default 6 MiB. */
    invocationBodyLimit: number;
    /** Extra `host[:port]` values the Host header may carry besides loopback names; default none. */
    allowedHosts: string[];
    /** Origins (`https://ui.example.com`) whose pages may send state-changing requests; default none. */
    allowedOrigins: string[];
  };
  sqlite: {
    /** `OFFLOADED` (default), `FULL` or `NORMAL`; see docs/decisions/0031-sqlite-commits-synced-off-the-event-loop.md. */
    synchronous: 'OFFLOADED' | 'FULL' | 'NORMAL';
    /** Milliseconds a writer waits for the lock; default 5000. */
    busyTimeoutMs: number;
  };
  queue: {
    /** Lease (visibility timeout) in ms; default 30000. */
    leaseMs: number;
    /** Heartbeat interval in ms; default 10000. */
    heartbeatMs: number;
    /** Attempts before a job is dead; default 5. */
    maxAttempts: number;
    /** First retry delay in ms; default 1000 (doubles, with jitter). */
    backoffBaseMs: number;
    /** Largest retry delay in ms; default 300000. */
    backoffMaxMs: number;
    /** Idle poll interval in ms; default 200. */
    pollMs: number;
    /** Jobs one worker runs at once; default 4. */
    concurrency: number;
  };
  pipelines: {
    /** Lease a scheduler holds on an execution it drives, in ms; default 30000. A killed process's executions resume in another once it expires. */
    leaseMs: number;
    /** Grace between SIGTERM and SIGKILL when a step is stopped, in ms; default 5000 (keep it under a third of the lease). */
    killGraceMs: number;
    /** The Kubernetes Job executor (docs/scale.md); registered only when namespace, stepIoImage and a cluster (kubeconfig or inCluster) are set. */
    kubernetes: {
      /** Namespace step Jobs run in; no default. */
      namespace?: string;
      /** The Capstan image whose `capstan step-io` stages inputs and outputs; no default. */
      stepIoImage?: string;
      /** Path of a kubeconfig file; no default. */
      kubeconfig?: string;
      /** Use the pod's service account (Capstan itself runs in the cluster); default false. */
      inCluster: boolean;
      /** Secret whose keys become the step-io containers' environment (S3 credentials); default none. */
      storeSecret?: string;
    };
  };
  registry: {
    /**
     * How long a registration whose process cannot be checked (it ran on another host) may go
     * unfinished before a restart removes its package files, in ms; default 3600000 (1 hour).
     */
    abandonedAfterMs: number;
    /** Test only: a point where registrations pause forever (`reserved`, `uploading`, `uploaded`) after writing a marker file to `$CAPSTAN_HOME`; default none. */
    testPauseAt?: 'reserved' | 'uploading' | 'uploaded';
  };
  features: {
    /** Online feature store: `sqlite` (default, `$CAPSTAN_HOME/features/online.db`) or `redis`. */
    onlineStore: 'sqlite' | 'redis';
    /** Redis URL of the online store when it is `redis`; default `redis://127.0.0.1:6379`. */
    redisUrl: string;
    /** Most records one push (`POST /api/v1/feature-groups/{name}/records`) may carry; default 10000 (413 beyond). */
    pushMaxRecords: number;
    /** DuckDB memory limit for offline work (ingestion, training sets), e.g. `2GB`; default DuckDB's (80% of RAM). */
    offlineMemoryLimit?: string;
    /** How often workers enqueue materialization of group versions with unmaterialized ingestions, in ms; default 60000 (0: only after each ingestion). */
    materializeIntervalMs: number;
    /** How long an ingestion or materialization waits for another of the same group version, in ms; default 600000. */
    lockWaitMs: number;
  };
  outbox: {
    /** Idle poll interval of the event dispatcher in ms; default 500. */
    pollMs: number;
    /** Lease on a claimed event delivery in ms; default 30000. A killed process's deliveries are retried once it expires. */
    leaseMs: number;
    /** Attempts before an event delivery is dead; default 10. */
    maxAttempts: number;
    /** Hours events are kept after they occurred; default 168 (7 days). */
    retentionHours: number;
  };
  /** Where batch-job and asynchronous-invocation notifications are published (docs/batch.md). */
  notifications: {
    /** NATS server URL(s), comma-separated; default `nats://127.0.0.1:4222`. */
    natsUrl: string;
    /** Publish through JetStream (a stream must capture the subject; the event id dedupes); default false (core NATS). */
    natsJetStream: boolean;
  };
  serving: {
    /** How often each serving process adds its per-variant counts to the metadata DB, in ms; default 5000. Alarms see other processes' traffic this late at most. */
    statsFlushMs: number;
  };
  rollouts: {
    /** How often the rollout controller looks at running deployments, in ms; default 1000. */
    tickMs: number;
    /** Lease on a deployment a process drives, in ms; default 10000. Another process continues it this long after its driver died. */
    leaseMs: number;
  };
  /** TEST ONLY: fault injection for crash tests; never set in production. */
  testing: {
    /** `before-deliver:<marker file>` or `after-deliver:<marker file>`: the event dispatcher writes the marker and SIGKILLs its process at that point of its first delivery; default unset. */
    outboxCrash?: string;
    /** A marker file: a repository sync writes it after applying its Nth resource change and then waits forever (its transaction open), so a crash test can kill it mid-sync; default unset. */
    gitopsSyncPause?: string;
    /** Which resource change (1-based) `gitopsSyncPause` pauses after; default 1. */
    gitopsSyncPauseAfter: number;
  };
  gitops: {
    /** How often every repository is fetched for new commits, in ms; default 60000. Push webhooks sync at once. */
    pollMs: number;
    /** Lease a process holds on a repository while it syncs it, in ms; default 300000. A killed sync is resumed once it expires. */
    leaseMs: number;
    /** Longest a git fetch may take, in ms; default 120000. */
    gitTimeoutMs: number;
  };
  outbound: {
    /** Allow loopback / private / link-local targets for webhooks and external models; default false. */
    allowPrivate: boolean;
    /** Hosts allowed even when private (e.g. `127.0.0.1:9000`); default none. */
    allowHosts: string[];
  };
  /** A Capstan server for CLI commands to talk to (`--url`); default: none, work on the embedded DB. */
  url?: string;
  /** API key the CLI sends to `url`. */
  apiKey?: string;
  /** Key that encrypts stored secrets (webhook secrets), at least 32 characters; default: `$CAPSTAN_HOME/secret.key`, created on first use. */
  secretKey?: string;
  /** pino level; default `info`. */
  logLevel: string;
  /** `auto` (default: human-readable on a terminal, JSON lines otherwise), `json` or `pretty`. */
  logFormat: LogFormat;
}

/** Where configuration comes from; every part optional. */
export interface ConfigSources {
  /** Flag values by dotted path (`server.port`) — highest precedence. */
  flags?: Record<string, unknown>;
  /** Environment; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Path of a YAML file; default `$CAPSTAN_CONFIG` or `./capstan.yaml` when present. */
  file?: string;
  /** Working directory for relative paths; default `process.cwd()`. */
  cwd?: string;
  /** A command's own defaults by dotted path (`{ logLevel: 'warn' }` for the demo) — lowest precedence, below `capstan.yaml`. */
  defaults?: Record<string, unknown>;
}

function getPath(obj: any, dotted: string): unknown {
  return dotted.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function setPath(obj: any, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys[keys.length - 1]] = value;
}

function coerce(s: Setting, raw: unknown, origin: string): unknown {
  const fail = (why: string) => {
    throw new CapstanError('CAPSTAN_CONFIG_INVALID', `${s.path} (from ${origin}): ${why}`, { fields: { setting: s.path } });
  };
  switch (s.kind) {
    case 'string':
      if (typeof raw === 'number') return String(raw);
      if (typeof raw !== 'string' || raw === '') fail('expected a non-empty string');
      return raw;
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n)) fail(`expected an integer, got ${JSON.stringify(raw)}`);
      if (s.min !== undefined && n < s.min) fail(`must be at least ${s.min}`);
      return n;
    }
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && /^(1|true|yes|on)$/i.test(raw)) return true;
      if (typeof raw === 'string' && /^(0|false|no|off)$/i.test(raw)) return false;
      return fail(`expected true or false, got ${JSON.stringify(raw)}`);
    case 'list':
      if (Array.isArray(raw)) return raw.map(String);
      if (typeof raw === 'string') return raw.split(',').map((x) => x.trim()).filter(Boolean);
      return fail('expected a list');
    case 'enum': {
      const v = typeof raw === 'string' ? raw : String(raw);
      const match = s.values!.find((x) => x.toLowerCase() === v.toLowerCase());
      if (!match) fail(`expected one of ${s.values!.join(', ')}, got ${JSON.stringify(raw)}`);
      return match;
    }
  }
}

function readYaml(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseUserYaml(readFileSync(file, 'utf8'), path.basename(file));
  } catch (err) {
    if (isCapstanError(err)) throw err;
    throw new CapstanError('CAPSTAN_CONFIG_INVALID', `${path.basename(file)}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (doc == null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new CapstanError('CAPSTAN_CONFIG_INVALID', `${path.basename(file)}: expected a mapping at the top level`);
  }
  const known = new Set(settings.map((s) => s.path));
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      const p = prefix ? `${prefix}.${k}` : k;
      if (known.has(p)) continue;
      if (v && typeof v === 'object' && !Array.isArray(v) && settings.some((s) => s.path.startsWith(`${p}.`))) walk(v as Record<string, unknown>, p);
      else throw new CapstanError('CAPSTAN_CONFIG_INVALID', `${path.basename(file)}: unknown setting ${p}`, { fields: { setting: p } });
    }
  };
  walk(doc as Record<string, unknown>, '');
  return doc as Record<string, unknown>;
}

/** Validates and fills a configuration from its sources; throws CAPSTAN_CONFIG_INVALID naming the setting. */
export function compileConfig(sources: ConfigSources = {}): CapstanConfig {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const fileName = sources.file ?? env.CAPSTAN_CONFIG ?? (existsSync(path.join(cwd, 'capstan.yaml')) ? 'capstan.yaml' : undefined);
  const yaml = fileName ? readYaml(path.resolve(cwd, fileName)) : {};
  const out: any = {};
  for (const s of settings) {
    const flag = sources.flags?.[s.path];
    const fromEnv = env[s.env];
    const fromFile = getPath(yaml, s.path);
    if (flag !== undefined) setPath(out, s.path, coerce(s, flag, 'flag'));
    else if (fromEnv !== undefined && fromEnv !== '') setPath(out, s.path, coerce(s, fromEnv, s.env));
    else if (fromFile !== undefined && fromFile !== null) setPath(out, s.path, coerce(s, fromFile, fileName ?? 'capstan.yaml'));
    else if (sources.defaults?.[s.path] !== undefined) setPath(out, s.path, coerce(s, sources.defaults[s.path], 'default'));
  }
  const home = path.resolve(cwd, out.home ?? '.capstan');
  const s3 = out.s3 ?? {};
  const config: CapstanConfig = {
    home,
    databaseUrl: out.databaseUrl ?? `sqlite://${path.join(home, 'capstan.db')}`,
    artifacts: out.artifacts ?? `file://${path.join(home, 'artifacts')}`,
    s3: {
      endpoint: s3.endpoint,
      region: s3.region ?? 'us-east-1',
      forcePathStyle: s3.forcePathStyle ?? Boolean(s3.endpoint),
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
    server: {
      host: out.server?.host ?? '127.0.0.1',
      port: out.server?.port ?? 7070,
      auth: out.server?.auth ?? false,
      bodyLimit: out.server?.bodyLimit ?? 1024 * 1024,
      invocationBodyLimit: out.server?.invocationBodyLimit ?? 6 * 1024 * 1024,
      allowedHosts: out.server?.allowedHosts ?? [],
      allowedOrigins: out.server?.allowedOrigins ?? [],
    },
    sqlite: {
      synchronous: out.sqlite?.synchronous ?? 'OFFLOADED',
      busyTimeoutMs: out.sqlite?.busyTimeoutMs ?? 5000,
    },
    queue: {
      leaseMs: out.queue?.leaseMs ?? 30_000,
      heartbeatMs: out.queue?.heartbeatMs ?? 10_000,
      maxAttempts: out.queue?.maxAttempts ?? 5,
      backoffBaseMs: out.queue?.backoffBaseMs ?? 1000,
      backoffMaxMs: out.queue?.backoffMaxMs ?? 300_000,
      pollMs: out.queue?.pollMs ?? 200,
      concurrency: out.queue?.concurrency ?? 4,
    },
    pipelines: {
      leaseMs: out.pipelines?.leaseMs ?? 30_000,
      killGraceMs: out.pipelines?.killGraceMs ?? 5000,
      kubernetes: { ...out.pipelines?.kubernetes, inCluster: out.pipelines?.kubernetes?.inCluster ?? false },
    },
    registry: {
      abandonedAfterMs: out.registry?.abandonedAfterMs ?? 60 * 60 * 1000,
      testPauseAt: out.registry?.testPauseAt,
    },
    features: {
      onlineStore: out.features?.onlineStore ?? 'sqlite',
      redisUrl: out.features?.redisUrl ?? 'redis://127.0.0.1:6379',
      pushMaxRecords: out.features?.pushMaxRecords ?? 10_000,
      offlineMemoryLimit: out.features?.offlineMemoryLimit,
      materializeIntervalMs: out.features?.materializeIntervalMs ?? 60_000,
      lockWaitMs: out.features?.lockWaitMs ?? 600_000,
    },
    outbox: {
      pollMs: out.outbox?.pollMs ?? 500,
      leaseMs: out.outbox?.leaseMs ?? 30_000,
      maxAttempts: out.outbox?.maxAttempts ?? 10,
      retentionHours: out.outbox?.retentionHours ?? 168,
    },
    testing: { outboxCrash: out.testing?.outboxCrash, gitopsSyncPause: out.testing?.gitopsSyncPause, gitopsSyncPauseAfter: out.testing?.gitopsSyncPauseAfter ?? 1 },
    gitops: {
      pollMs: out.gitops?.pollMs ?? 60_000,
      leaseMs: out.gitops?.leaseMs ?? 300_000,
      gitTimeoutMs: out.gitops?.gitTimeoutMs ?? 120_000,
    },
    notifications: {
      natsUrl: out.notifications?.natsUrl ?? 'nats://127.0.0.1:4222',
      natsJetStream: out.notifications?.natsJetStream ?? false,
    },
    serving: { statsFlushMs: out.serving?.statsFlushMs ?? 5000 },
    rollouts: { tickMs: out.rollouts?.tickMs ?? 1000, leaseMs: out.rollouts?.leaseMs ?? 10_000 },
    outbound: {
      allowPrivate: out.outbound?.allowPrivate ?? false,
      allowHosts: out.outbound?.allowHosts ?? [],
    },
    url: out.url,
    apiKey: out.apiKey,
    secretKey: out.secretKey,
    logLevel: out.logLevel ?? 'info',
    logFormat: out.logFormat ?? 'auto',
  };
  if (!/^(sqlite|postgres|postgresql):\/\//.test(config.databaseUrl)) {
    throw new CapstanError('CAPSTAN_CONFIG_INVALID', 'databaseUrl must start with sqlite://, postgres:// or postgresql://', { fields: { setting: 'databaseUrl' } });
  }
  if (!/^(file|s3):\/\//.test(config.artifacts)) {
    throw new CapstanError('CAPSTAN_CONFIG_INVALID', 'artifacts must start with file:// or s3://', { fields: { setting: 'artifacts' } });
  }
  if (config.secretKey !== undefined && config.secretKey.length < 32) {
    throw new CapstanError('CAPSTAN_CONFIG_INVALID', 'secretKey must be at least 32 characters (e.g. openssl rand -base64 32)', { fields: { setting: 'secretKey' } });
  }
  for (const h of config.server.allowedHosts) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+)(:\d{1,5})?$/.test(h)) {
      throw new CapstanError('CAPSTAN_CONFIG_INVALID', `server.allowedHosts: ${JSON.stringify(h)} is not a host or host:port`, { fields: { setting: 'server.allowedHosts' } });
    }
  }
  for (const o of config.server.allowedOrigins) {
    let origin: string | undefined;
    try {
      origin = new URL(o).origin;
    } catch {
      origin = undefined;
    }
    if (!origin || origin === 'null' || origin !== o.replace(/\/$/, '').toLowerCase()) {
      throw new CapstanError('CAPSTAN_CONFIG_INVALID', `server.allowedOrigins: ${JSON.stringify(o)} is not an origin like https://ui.example.com (scheme, host and port only)`, { fields: { setting: 'server.allowedOrigins' } });
    }
  }
  if (config.testing.outboxCrash !== undefined && !/^(before|after)-deliver:.+$/.test(config.testing.outboxCrash)) {
    throw new CapstanError('CAPSTAN_CONFIG_INVALID', 'testing.outboxCrash must be before-deliver:<file> or after-deliver:<file>', { fields: { setting: 'testing.outboxCrash' } });
  }
  if (config.queue.heartbeatMs >= config.queue.leaseMs) {
    throw new CapstanError('CAPSTAN_CONFIG_INVALID', 'queue.heartbeatMs must be shorter than queue.leaseMs', { fields: { setting: 'queue.heartbeatMs' } });
  }
  return config;
}

/** The configuration with secrets replaced by `***` (and a password inside a URL too). */
export function redactConfig(config: CapstanConfig): Record<string, unknown> {
  const copy = structuredClone(config) as any;
  for (const s of settings) {
    if (!s.secret) continue;
    const v = getPath(copy, s.path);
    if (typeof v !== 'string') continue;
    setPath(copy, s.path, /^[a-z]+:\/\//.test(v) ? redactUrl(v) : '***');
  }
  return copy;
}

/** Hides the password of a URL (`postgres://u:***@host/db`). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

/** Whether an environment flag (`CI`, `CAPSTAN_DEBUG`) is on: `1`/`true`/`yes`/`on`, so `CI=false` or `CAPSTAN_DEBUG=0` is off. */
function envFlag(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

/**
 * Whether `CAPSTAN_DEBUG` asks the CLI to print the stack of an unexpected error. Read apart from
 * `compileConfig` because it must still answer when the configuration is what failed.
 */
export function debugRequested(env: Record<string, string | undefined> = process.env): boolean {
  return envFlag(env.CAPSTAN_DEBUG);
}

/** Whether this process runs in CI (`CI=true`), where tests that need PostgreSQL or Python must not skip. */
export function runningInCi(env: Record<string, string | undefined> = process.env): boolean {
  return envFlag(env.CI);
}
