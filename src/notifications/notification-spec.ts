import { isValidName } from '../core/names.js';

/** Event types a subscription may name (patterns `prefix.*` and `*` too); others join as contexts emit them. */
export const NOTIFICATION_EVENTS = [
  'pipeline_execution.succeeded',
  'pipeline_execution.failed',
  'pipeline_execution.cancelled',
  'model_version.created',
  'model_version.approved',
  'model_version.rejected',
  'model_version.alias_set',
  'endpoint.created',
  'endpoint.updated',
  'endpoint.deleted',
  'deployment.started',
  'deployment.rolled_back',
  'endpoint.alarm',
  'decision.alarm',
  'server.error',
  'job.dead',
] as const;

/** Where a subscription delivers: a Slack-compatible incoming webhook, a Standard-Webhooks-signed HTTP endpoint, or a NATS subject. */
export type NotificationTarget =
  | { type: 'slack'; url: string; secret?: string }
  | { type: 'webhook'; url: string; secret: string }
  | { type: 'nats'; subject: string; servers: string };

/** A valid subscription. `KEEP` as a secret value keeps the stored one (what `get -o yaml` shows). */
export interface NotificationSpec {
  name: string;
  /** Event types or patterns (`model_version.*`). */
  events: string[];
  target: NotificationTarget;
  /** Base URL of the console, linked from Slack messages; default none (the message names the CLI command). */
  consoleUrl?: string;
}

/** What `get -o yaml` shows instead of a secret; applying it keeps the stored secret. */
export const KEEP = '(secret: unchanged)';

/** One problem with a field of a Notification document. */
export interface SpecIssue {
  path: (string | number)[];
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a Notification document (`kind` removed); returns the spec, or the issues with their paths. */
export function compileNotification(body: Record<string, unknown>): { spec?: NotificationSpec; issues: SpecIssue[] } {
  const issues: SpecIssue[] = [];
  for (const k of Object.keys(body)) if (!['name', 'events', 'target', 'consoleUrl'].includes(k)) issues.push({ path: [k], message: `unknown field ${k} (Notification takes name, events, target, consoleUrl)` });
  if (!isValidName(body.name)) issues.push({ path: ['name'], message: `${JSON.stringify(body.name)} is not a valid name (a-z, 0-9, '.', '_', '-')` });
  const events = body.events;
  if (!Array.isArray(events) || events.length === 0) issues.push({ path: ['events'], message: `events must list event types, e.g. [pipeline_execution.failed, model_version.created]; known: ${NOTIFICATION_EVENTS.join(', ')}` });
  else
    events.forEach((e, i) => {
      if (typeof e !== 'string' || !/^(\*|[a-z_]+(\.[a-z_]+)?(\.\*)?)$/.test(e)) issues.push({ path: ['events', i], message: `${JSON.stringify(e)} is not an event type or pattern (model_version.approved, model_version.*, *)` });
    });
  if (body.consoleUrl !== undefined && (typeof body.consoleUrl !== 'string' || !/^https?:\/\//.test(body.consoleUrl))) issues.push({ path: ['consoleUrl'], message: 'consoleUrl must be an http(s) URL' });
  let target: NotificationTarget | undefined;
  const t = body.target;
  const kinds = isObject(t) ? Object.keys(t) : [];
  if (!isObject(t) || kinds.length !== 1 || !['slack', 'webhook', 'nats'].includes(kinds[0])) {
    issues.push({ path: ['target'], message: 'target must have exactly one of slack: { url, secret? }, webhook: { url, secret }, nats: { subject, servers }' });
  } else {
    const kind = kinds[0];
    const v = t[kind];
    if (!isObject(v)) issues.push({ path: ['target', kind], message: `target.${kind} must be a mapping` });
    else if (kind === 'slack') {
      if (typeof v.url !== 'string' || !v.url) issues.push({ path: ['target', 'slack', 'url'], message: 'target.slack.url must be the incoming webhook URL' });
      if (v.secret !== undefined && (typeof v.secret !== 'string' || !(v.secret === KEEP || /^whsec_[A-Za-z0-9+/=]{20,}$/.test(v.secret)))) issues.push({ path: ['target', 'slack', 'secret'], message: 'target.slack.secret, when set, must be a Standard Webhooks secret (whsec_…); the message is then signed' });
      if (typeof v.url === 'string' && v.url) target = { type: 'slack', url: v.url, secret: typeof v.secret === 'string' ? v.secret : undefined };
    } else if (kind === 'webhook') {
      if (typeof v.url !== 'string' || !v.url) issues.push({ path: ['target', 'webhook', 'url'], message: 'target.webhook.url must be an http(s) URL' });
      if (typeof v.secret !== 'string' || !(v.secret === KEEP || /^whsec_[A-Za-z0-9+/=]{20,}$/.test(v.secret))) issues.push({ path: ['target', 'webhook', 'secret'], message: 'target.webhook.secret must be a Standard Webhooks secret (whsec_ followed by base64 of 24 to 64 bytes)' });
      if (typeof v.url === 'string' && typeof v.secret === 'string') target = { type: 'webhook', url: v.url, secret: v.secret };
    } else {
      if (typeof v.subject !== 'string' || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(v.subject)) issues.push({ path: ['target', 'nats', 'subject'], message: 'target.nats.subject must be a NATS subject without wildcards (capstan.events)' });
      const servers = v.servers ?? 'nats://127.0.0.1:4222';
      if (typeof servers !== 'string' || !/^nats:\/\/[^\s/]+$/.test(servers)) issues.push({ path: ['target', 'nats', 'servers'], message: 'target.nats.servers must be nats://host:port' });
      if (typeof v.subject === 'string' && typeof servers === 'string') target = { type: 'nats', subject: v.subject, servers };
    }
  }
  if (issues.length || !target) return { issues };
  return { spec: { name: body.name as string, events: events as string[], target, consoleUrl: body.consoleUrl as string | undefined }, issues };
}

/** `nats://host:port` as `http://host:port`, so the outbound guard can classify the host. */
export function natsAsHttp(servers: string): string {
  return `http://${servers.replace(/^nats:\/\//, '')}`;
}
