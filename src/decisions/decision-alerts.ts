import { request as httpRequest, type Agent } from 'undici';
import type { BackgroundService } from '../core/background-service.js';
import type { Logger } from '../core/logger.js';
import { assertOutboundUrl, type OutboundSettings } from '../core/outbound-guard.js';
import type { SecretBox } from '../core/secret-box.js';
import { webhookHeaders } from '../core/webhook-signature.js';
import type { Database } from '../storage/database.js';
import { appendEvent, type OutboxHandler } from '../storage/outbox/index.js';
import type { LocalDecisionService } from './local-decision-service.js';
import type { SqlDecisionStore } from './sql-decision-store.js';

/** Event raised when a use case's alert starts or stops firing. */
export const DECISION_ALERT_EVENT = 'decision.alert';

/** What an alert event carries. */
export interface DecisionAlertData {
  usecase: string;
  version: number;
  firing: boolean;
  decisions: number;
  errors: number;
  errorRate: number;
  p99Ms: number | null;
  thresholds: { errorRate?: number; p99Ms?: number };
  windowMs: number;
  /** The failing records: the records API filtered to this use case's errors in the window. */
  link: string;
  slackUrl?: string;
  webhookUrl?: string;
}

const CHECK_MS = 30_000;
const POST_TIMEOUT_MS = 10_000;

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

/**
 * Per use case error-rate and p99 latency thresholds over a sliding window. A check that finds a use
 * case crossing a threshold (or recovering) raises `decision.alert` with the alert state change in one
 * transaction; the outbox then posts it to the Slack-compatible URL and the signed generic webhook.
 */
export class DecisionAlerts implements BackgroundService {
  readonly name = 'decision-alerts';
  private timer?: NodeJS.Timeout;
  private checking?: Promise<void>;

  constructor(
    private readonly deps: { store: SqlDecisionStore; service: LocalDecisionService; db: Database; outbound: OutboundSettings; agent: Agent; box: SecretBox; logger: Logger; baseUrl: string },
  ) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.tick(), CHECK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  private async tick(): Promise<void> {
    if (this.checking) return;
    this.checking = this.checkNow()
      .then(() => undefined)
      .catch((err) => this.deps.logger.warn({ err }, 'decision alert check failed'))
      .finally(() => (this.checking = undefined));
  }

  /** Checks every active use case with alerts once; returns the alerts whose state changed. */
  async checkNow(now = Date.now()): Promise<DecisionAlertData[]> {
    const changed: DecisionAlertData[] = [];
    for (const s of await this.deps.store.useCases()) {
      if (s.activeVersion === null) continue;
      const uc = await this.deps.service.version(s.name, s.activeVersion);
      const a = uc.definition.alerts;
      if (!a || (a.errorRate === undefined && a.p99Ms === undefined)) continue;
      const windowMs = a.windowMs ?? 300_000;
      const since = now - windowMs;
      const counts = (await this.deps.store.counts(s.name, since)).filter((c) => c.role === 'champion');
      const decisions = counts.reduce((n, c) => n + c.n, 0);
      const errors = counts.filter((c) => c.status === 'error').reduce((n, c) => n + c.n, 0);
      const p99 = percentile(await this.deps.store.latencies(s.name, since), 0.99);
      const errorRate = decisions === 0 ? 0 : errors / decisions;
      const firing = decisions >= (a.minDecisions ?? 20) && ((a.errorRate !== undefined && errorRate > a.errorRate) || (a.p99Ms !== undefined && p99 !== null && p99 > a.p99Ms));
      if (firing === (await this.deps.store.alertFiring(s.name))) continue;
      const link = `${this.deps.baseUrl}/api/v1/decisions?usecase=${encodeURIComponent(s.name)}&status=error&since=${encodeURIComponent(new Date(since).toISOString())}`;
      const data: DecisionAlertData = { usecase: s.name, version: s.activeVersion, firing, decisions, errors, errorRate, p99Ms: p99, thresholds: { errorRate: a.errorRate, p99Ms: a.p99Ms }, windowMs, link, slackUrl: a.slackUrl, webhookUrl: a.webhookUrl };
      await this.deps.db.transaction(async (trx) => {
        await this.deps.store.setAlert(s.name, firing, trx);
        await appendEvent(trx, { type: DECISION_ALERT_EVENT, subject: `decisions/${s.name}`, data: data as unknown as Record<string, unknown> });
      });
      changed.push(data);
    }
    return changed;
  }

  /** The outbox subscriber: posts an alert event to the use case's Slack URL and signed webhook. */
  readonly notify: OutboxHandler = async (event) => {
    const d = event.data as unknown as DecisionAlertData;
    const headline = d.firing
      ? `:rotating_light: decisions ${d.usecase} v${d.version}: error rate ${(d.errorRate * 100).toFixed(1)}% (${d.errors}/${d.decisions}), p99 ${d.p99Ms ?? '-'} ms over ${Math.round(d.windowMs / 1000)} s`
      : `:white_check_mark: decisions ${d.usecase} v${d.version} recovered: error rate ${(d.errorRate * 100).toFixed(1)}%, p99 ${d.p99Ms ?? '-'} ms`;
    if (d.slackUrl) await this.post(d.slackUrl, JSON.stringify({ text: `${headline}\nFailing records: ${d.link}` }));
    if (d.webhookUrl) {
      const uc = await this.deps.service.version(d.usecase, d.version);
      const body = JSON.stringify({ type: event.type, id: event.id, data: { ...d, slackUrl: undefined, webhookUrl: undefined } });
      const secret = uc.definition.alerts?.webhookSecret;
      await this.post(d.webhookUrl, body, secret ? webhookHeaders(secret, { id: event.id, timestamp: Math.floor(Date.now() / 1000), body }) : {});
    }
  };

  private async post(url: string, body: string, headers: Record<string, string> = {}): Promise<void> {
    await assertOutboundUrl(url, this.deps.outbound, { purpose: 'alert URL' });
    const res = await httpRequest(url, { method: 'POST', dispatcher: this.deps.agent, headers: { 'content-type': 'application/json', 'user-agent': 'capstan-decisions', ...headers }, body, headersTimeout: POST_TIMEOUT_MS, bodyTimeout: POST_TIMEOUT_MS });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`alert post to ${new URL(url).host} answered HTTP ${res.statusCode}`);
  }
}
