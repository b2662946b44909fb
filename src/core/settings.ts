/**
 * Every setting Capstan reads: its path in capstan.yaml, its environment variable, kind and doc. One
 * table feeds the config compiler, `capstan config` and docs/configuration.md.
 */

/** How a setting's raw text is read. */
export type Kind = 'string' | 'int' | 'bool' | 'list' | 'enum';

/** One configurable setting. */
export interface Setting {
  /** Dotted path into CapstanConfig. */
  path: string;
  env: string;
  kind: Kind;
  values?: readonly string[];
  secret?: boolean;
  min?: number;
  doc: string;
}

/** Every configurable setting; its order is the order `capstan config` prints. */
export const settings: readonly Setting[] = [
  { path: 'home', env: 'CAPSTAN_HOME', kind: 'string', doc: 'Home directory (SQLite file, local artifacts). Default ./.capstan' },
  { path: 'databaseUrl', env: 'CAPSTAN_DATABASE_URL', kind: 'string', secret: true, doc: 'sqlite://file or postgres://… Default sqlite://$CAPSTAN_HOME/capstan.db' },
  { path: 'artifacts', env: 'CAPSTAN_ARTIFACTS', kind: 'string', doc: 'file://dir or s3://bucket/prefix. Default file://$CAPSTAN_HOME/artifacts' },
  { path: 's3.endpoint', env: 'CAPSTAN_S3_ENDPOINT', kind: 'string', doc: 'Custom S3 endpoint (MinIO). Default AWS' },
  { path: 's3.region', env: 'CAPSTAN_S3_REGION', kind: 'string', doc: 'S3 region. Default us-east-1' },
  { path: 's3.forcePathStyle', env: 'CAPSTAN_S3_FORCE_PATH_STYLE', kind: 'bool', doc: 'Path-style S3 addressing. Default true with a custom endpoint' },
  { path: 's3.accessKeyId', env: 'CAPSTAN_S3_ACCESS_KEY_ID', kind: 'string', secret: true, doc: 'S3 access key. Default: the AWS SDK chain' },
  { path: 's3.secretAccessKey', env: 'CAPSTAN_S3_SECRET_ACCESS_KEY', kind: 'string', secret: true, doc: 'S3 secret key. Default: the AWS SDK chain' },
  { path: 'server.host', env: 'CAPSTAN_HOST', kind: 'string', doc: 'Bind address. Default 127.0.0.1' },
  { path: 'server.port', env: 'CAPSTAN_PORT', kind: 'int', min: 0, doc: 'Port. Default 7070' },
  { path: 'server.auth', env: 'CAPSTAN_AUTH', kind: 'bool', doc: 'Require API keys. Default false' },
  { path: 'server.bodyLimit', env: 'CAPSTAN_BODY_LIMIT', kind: 'int', min: 1024, doc: 'API body limit in bytes. Default 1048576' },
  { path: 'server.invocationBodyLimit', env: 'CAPSTAN_INVOCATION_BODY_LIMIT', kind: 'int', min: 1024, doc: 'Invocation body limit in bytes. Default 6291456' },
  { path: 'server.allowedHosts', env: 'CAPSTAN_ALLOWED_HOSTS', kind: 'list', doc: 'Comma-separated host[:port] the Host header may name besides localhost, 127.0.0.1 and [::1] (with a non-loopback bind, setting any turns the Host check on). Default none' },
  { path: 'server.allowedOrigins', env: 'CAPSTAN_ALLOWED_ORIGINS', kind: 'list', doc: 'Comma-separated origins (https://ui.example.com) whose pages may send state-changing requests. Default none' },
  { path: 'sqlite.synchronous', env: 'CAPSTAN_SQLITE_SYNCHRONOUS', kind: 'enum', values: ['OFFLOADED', 'FULL', 'NORMAL'], doc: 'When a SQLite write is durable: OFFLOADED (the write waits for an fsync of the WAL off the event loop, shared by concurrent writes), FULL (SQLite fsyncs in each commit, on the event loop) or NORMAL (no fsync before answering; a power loss may undo the last commits). Default OFFLOADED' },
  { path: 'sqlite.busyTimeoutMs', env: 'CAPSTAN_SQLITE_BUSY_TIMEOUT_MS', kind: 'int', min: 0, doc: 'SQLite busy timeout. Default 5000' },
  { path: 'queue.leaseMs', env: 'CAPSTAN_QUEUE_LEASE_MS', kind: 'int', min: 100, doc: 'Job lease in ms. Default 30000' },
  { path: 'queue.heartbeatMs', env: 'CAPSTAN_QUEUE_HEARTBEAT_MS', kind: 'int', min: 50, doc: 'Heartbeat interval in ms. Default 10000' },
  { path: 'queue.maxAttempts', env: 'CAPSTAN_QUEUE_MAX_ATTEMPTS', kind: 'int', min: 1, doc: 'Attempts before dead. Default 5' },
  { path: 'queue.backoffBaseMs', env: 'CAPSTAN_QUEUE_BACKOFF_BASE_MS', kind: 'int', min: 0, doc: 'First retry delay. Default 1000' },
  { path: 'queue.backoffMaxMs', env: 'CAPSTAN_QUEUE_BACKOFF_MAX_MS', kind: 'int', min: 0, doc: 'Largest retry delay. Default 300000' },
  { path: 'queue.pollMs', env: 'CAPSTAN_QUEUE_POLL_MS', kind: 'int', min: 1, doc: 'Idle poll interval. Default 200' },
  { path: 'queue.concurrency', env: 'CAPSTAN_QUEUE_CONCURRENCY', kind: 'int', min: 1, doc: 'Jobs per worker at once. Default 4' },
  { path: 'pipelines.leaseMs', env: 'CAPSTAN_PIPELINES_LEASE_MS', kind: 'int', min: 300, doc: 'Lease on a running pipeline execution in ms; another process resumes it this long after its owner died. Default 30000' },
  { path: 'pipelines.killGraceMs', env: 'CAPSTAN_PIPELINES_KILL_GRACE_MS', kind: 'int', min: 0, doc: 'SIGTERM-to-SIGKILL grace for stopped steps in ms. Default 5000' },
  { path: 'pipelines.kubernetes.namespace', env: 'CAPSTAN_K8S_NAMESPACE', kind: 'string', doc: 'Namespace of Kubernetes step Jobs. No default (no Kubernetes executor)' },
  { path: 'pipelines.kubernetes.stepIoImage', env: 'CAPSTAN_K8S_STEP_IO_IMAGE', kind: 'string', doc: 'Capstan image running `capstan step-io` in step pods. No default' },
  { path: 'pipelines.kubernetes.kubeconfig', env: 'CAPSTAN_K8S_KUBECONFIG', kind: 'string', doc: 'kubeconfig file of the cluster steps run on. No default' },
  { path: 'pipelines.kubernetes.inCluster', env: 'CAPSTAN_K8S_IN_CLUSTER', kind: 'bool', doc: 'Reach the cluster with the pod service account. Default false' },
  { path: 'pipelines.kubernetes.storeSecret', env: 'CAPSTAN_K8S_STORE_SECRET', kind: 'string', doc: 'Secret giving step-io containers their store credentials (envFrom). Default none' },
  { path: 'registry.abandonedAfterMs', env: 'CAPSTAN_REGISTRY_ABANDONED_AFTER_MS', kind: 'int', min: 0, doc: 'Age in ms after which a restart removes the package of an unfinished registration whose process it cannot check (another host). Default 3600000' },
  { path: 'registry.testPauseAt', env: 'CAPSTAN_TEST_REGISTRY_PAUSE_AT', kind: 'enum', values: ['reserved', 'uploading', 'uploaded'], doc: 'Test only: registrations stop for good at this point (after the version number is reserved, in the middle of copying the package, or after it is copied) and write $CAPSTAN_HOME/registry-paused-<point>, so a test can kill the process there. Default none' },
  { path: 'features.onlineStore', env: 'CAPSTAN_FEATURES_ONLINE_STORE', kind: 'enum', values: ['sqlite', 'redis'], doc: 'Online feature store: sqlite ($CAPSTAN_HOME/features/online.db) or redis. Default sqlite' },
  { path: 'features.redisUrl', env: 'CAPSTAN_FEATURES_REDIS_URL', kind: 'string', secret: true, doc: 'Redis URL of the online feature store. Default redis://127.0.0.1:6379' },
  { path: 'features.pushMaxRecords', env: 'CAPSTAN_FEATURES_PUSH_MAX_RECORDS', kind: 'int', min: 1, doc: 'Most records one feature push may carry (413 beyond). Default 10000' },
  { path: 'features.materializeIntervalMs', env: 'CAPSTAN_FEATURES_MATERIALIZE_INTERVAL_MS', kind: 'int', min: 0, doc: 'How often workers materialize group versions with unmaterialized ingestions (0: only the job after each ingestion). Default 60000' },
  { path: 'features.lockWaitMs', env: 'CAPSTAN_FEATURES_LOCK_WAIT_MS', kind: 'int', min: 1, doc: 'How long an ingestion or materialization waits for another one of the same group version (409 CAPSTAN_FEATURES_BUSY beyond). Default 600000' },
  { path: 'features.offlineMemoryLimit', env: 'CAPSTAN_FEATURES_OFFLINE_MEMORY_LIMIT', kind: 'string', doc: 'DuckDB memory limit for ingestion and training sets, e.g. 2GB. Default 80% of RAM' },
  { path: 'outbox.pollMs', env: 'CAPSTAN_OUTBOX_POLL_MS', kind: 'int', min: 1, doc: 'Idle poll interval of the event dispatcher in ms. Default 500' },
  { path: 'outbox.leaseMs', env: 'CAPSTAN_OUTBOX_LEASE_MS', kind: 'int', min: 100, doc: 'Lease on a claimed event delivery in ms; a killed process\'s deliveries are retried after it. Default 30000' },
  { path: 'outbox.maxAttempts', env: 'CAPSTAN_OUTBOX_MAX_ATTEMPTS', kind: 'int', min: 1, doc: 'Attempts before an event delivery is dead. Default 10' },
  { path: 'outbox.retentionHours', env: 'CAPSTAN_OUTBOX_RETENTION_HOURS', kind: 'int', min: 1, doc: 'Hours events are kept. Default 168' },
  { path: 'testing.gitopsSyncPause', env: 'CAPSTAN_TEST_GITOPS_SYNC_PAUSE', kind: 'string', doc: 'TEST ONLY: a repository sync writes this file after applying its Nth resource change (testing.gitopsSyncPauseAfter) and then waits forever, its transaction open. Default unset' },
  { path: 'testing.gitopsSyncPauseAfter', env: 'CAPSTAN_TEST_GITOPS_SYNC_PAUSE_AFTER', kind: 'int', min: 1, doc: 'TEST ONLY: which resource change of a sync testing.gitopsSyncPause pauses after (1 = the first). Default 1' },
  { path: 'gitops.pollMs', env: 'CAPSTAN_GITOPS_POLL_MS', kind: 'int', min: 100, doc: 'How often repositories are fetched for new commits, in ms. Default 60000' },
  { path: 'gitops.leaseMs', env: 'CAPSTAN_GITOPS_LEASE_MS', kind: 'int', min: 1000, doc: 'Lease on a repository being synced, in ms; a killed sync resumes after it. Default 300000' },
  { path: 'gitops.gitTimeoutMs', env: 'CAPSTAN_GITOPS_GIT_TIMEOUT_MS', kind: 'int', min: 1000, doc: 'Longest a git fetch may take, in ms. Default 120000' },
  { path: 'notifications.natsUrl', env: 'CAPSTAN_NATS_URL', kind: 'string', doc: 'NATS server for batch and async notifications. Default nats://127.0.0.1:4222' },
  { path: 'notifications.natsJetStream', env: 'CAPSTAN_NATS_JETSTREAM', kind: 'bool', doc: 'Publish notifications through JetStream (deduplicated by event id). Default false' },
  { path: 'serving.statsFlushMs', env: 'CAPSTAN_SERVING_STATS_FLUSH_MS', kind: 'int', min: 50, doc: 'How often each serving process stores its per-variant statistics in ms (rollout alarms see other processes this late). Default 5000' },
  { path: 'rollouts.tickMs', env: 'CAPSTAN_ROLLOUTS_TICK_MS', kind: 'int', min: 50, doc: 'How often the rollout controller looks at running deployments in ms. Default 1000' },
  { path: 'rollouts.leaseMs', env: 'CAPSTAN_ROLLOUTS_LEASE_MS', kind: 'int', min: 500, doc: 'Lease on a deployment a process drives in ms; another process continues it this long after its driver died. Default 10000' },
  { path: 'testing.outboxCrash', env: 'CAPSTAN_TEST_OUTBOX_CRASH', kind: 'string', doc: 'TEST ONLY: before-deliver:FILE or after-deliver:FILE makes the event dispatcher write the file and SIGKILL its process. Default unset' },
  { path: 'outbound.allowPrivate', env: 'CAPSTAN_OUTBOUND_ALLOW_PRIVATE', kind: 'bool', doc: 'Allow private/loopback outbound targets. Default false' },
  { path: 'outbound.allowHosts', env: 'CAPSTAN_OUTBOUND_ALLOW_HOSTS', kind: 'list', doc: 'Comma-separated host[:port] allowed although private. Default none' },
  { path: 'url', env: 'CAPSTAN_URL', kind: 'string', doc: 'Server the CLI talks to. Default: none (embedded)' },
  { path: 'apiKey', env: 'CAPSTAN_API_KEY', kind: 'string', secret: true, doc: 'API key the CLI sends. Default none' },
  { path: 'secretKey', env: 'CAPSTAN_SECRET_KEY', kind: 'string', secret: true, doc: 'Key encrypting stored webhook secrets (32+ characters). Default: $CAPSTAN_HOME/secret.key, created on first use' },
  { path: 'logLevel', env: 'CAPSTAN_LOG_LEVEL', kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], doc: 'Log level. Default info' },
  { path: 'logFormat', env: 'CAPSTAN_LOG_FORMAT', kind: 'enum', values: ['auto', 'json', 'pretty'], doc: 'Log lines: json, pretty (human-readable) or auto (pretty on a terminal, json otherwise). Default auto' },
];

/** The settings as a Markdown table (setting, environment variable, kind, meaning); docs/configuration.md embeds it. */
export function settingsTable(): string {
  const kind = (s: Setting) => (s.kind === 'enum' ? s.values!.join(' \\| ') : s.kind === 'list' ? 'comma-separated list' : s.kind) + (s.secret ? ', secret' : '');
  const rows = settings.map((s) => `| \`${s.path}\` | \`${s.env}\` | ${kind(s)} | ${s.doc.replace(/\|/g, '\\|')} |`);
  return ['| setting (capstan.yaml) | environment | type | meaning and default |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
