import type { Agent } from 'undici';
import { request as httpRequest } from 'undici';
import { CapstanError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { assertOutboundUrl, type OutboundSettings } from '../core/outbound-guard.js';
import type { SecretBox } from '../core/secret-box.js';
import { newWebhookSecret, webhookHeaders, webhookSecretProblem } from '../core/webhook-signature.js';
import type { JobQueue } from '../storage/queue/job-queue.js';
import type { Job, JobHandler } from '../storage/queue/job.js';
import { jobDeath, type DeadJobOwner } from '../storage/queue/job-dead-event.js';
import { appendEvent, type OutboxHandler } from '../storage/outbox/index.js';
import type { DecisionCallback } from './decision-service.js';
import type { DecisionRequestStatus } from './decision-types.js';
import type { LocalDecisionService } from './local-decision-service.js';
import { toRecord, type RequestRow, type SqlDecisionStore } from './sql-decision-store.js';

/** Job type of a queued decision. */
export const DECIDE_JOB_TYPE = 'decisions.decide';
/** Event raised when an async decision finished. */
export const DECISION_COMPLETED_EVENT = 'decision.completed';

interface DecideJob {
  requestId: string;
  usecase: string;
  input: Record<string, unknown>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const CALLBACK_TIMEOUT_MS = 10_000;

/**
 * Decisions that may run longer than a gateway waits: `submit` checks the input and queues a job
 * (answering at once); the job runs the decision and, in the transaction that stores its record,
 * raises `decision.completed`; the outbox then POSTs the result to the caller's callback URL, signed
 * per Standard Webhooks with the request's secret, retrying until it is accepted.
 */
export class AsyncDecisions {
  constructor(
    private readonly deps: { store: SqlDecisionStore; queue: JobQueue; box: SecretBox; outbound: OutboundSettings; agent: Agent; service: () => LocalDecisionService },
  ) {}

  /** Validates and queues; returns the request, and the callback secret when Capstan generated it. */
  async submit(usecase: string, input: unknown, callback?: DecisionCallback): Promise<DecisionRequestStatus & { callbackSecret?: string }> {
    const service = this.deps.service();
    const { uc } = await service.active(usecase);
    const checked = service.checkInput(uc, input);
    let secret: string | undefined;
    if (callback) {
      await assertOutboundUrl(callback.url, this.deps.outbound, { purpose: 'callback URL' });
      secret = callback.secret ?? newWebhookSecret();
      const problem = webhookSecretProblem(secret);
      if (problem) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `callback.secret ${problem}`);
    }
    const id = newId('dreq');
    const now = Date.now();
    const row: RequestRow = { id, usecase, status: 'queued', record_id: null, error: null, callback_url: callback?.url ?? null, callback_secret: secret ? this.deps.box.seal(secret, id) : null, created_at: now, finished_at: null };
    await this.deps.store.transaction(async (trx) => {
      await this.deps.store.insertRequest(row, trx);
      await this.deps.queue.enqueue<DecideJob>(DECIDE_JOB_TYPE, { requestId: id, usecase, input: checked }, { idempotencyKey: id }, trx);
    });
    return { ...statusOf(row), ...(callback && !callback.secret ? { callbackSecret: secret } : {}) };
  }

  /** A request's state, with its record once done. */
  async status(id: string): Promise<DecisionRequestStatus> {
    const row = await this.deps.store.request(id);
    if (!row) throw new CapstanError('CAPSTAN_DECISIONS_REQUEST_NOT_FOUND', `no decision request ${id}`, { fields: { id } });
    const status = statusOf(row);
    if (row.record_id) {
      const record = await this.deps.store.record(row.record_id);
      if (record) status.record = toRecord(record);
    }
    return status;
  }

  /** The job handler: runs the decision, storing the record, the request's end and the event together; then the challenger, if any. */
  readonly handler: JobHandler<DecideJob> = async (job: Job<DecideJob>) => {
    const { requestId, usecase, input } = job.payload;
    let request = await this.deps.store.request(requestId);
    // Failed without a record means its job died; that job runs again only when an operator retries
    // it, and the retry is for this request, so it is queued again and decided now.
    if (request?.status === 'failed' && request.record_id === null) request = (await this.deps.store.reviveLostRequest(requestId)) ?? request;
    if (!request || request.status !== 'queued') return { skipped: 'already finished' };
    const service = this.deps.service();
    const { summary, uc } = await service.active(usecase);
    const { row } = await service.execute(uc, summary.activeVersion!, input, 'champion', newId('dec'), undefined, (r) =>
      this.deps.store.transaction(async (trx) => {
        await this.deps.store.insertRecord(r, trx);
        const error = r.status === 'error' ? (JSON.parse(r.snapshot) as { error?: { message: string } }).error?.message ?? 'failed' : null;
        await this.deps.store.finishRequest(requestId, r.status === 'ok' ? 'done' : 'failed', r.id, error, trx);
        if (request.callback_url) {
          await appendEvent(trx, { type: DECISION_COMPLETED_EVENT, subject: `decisions/${usecase}/requests/${requestId}`, data: { requestId, recordId: r.id, usecase, status: r.status, outcome: r.outcome } });
        }
      }),
    );
    // The challenger runs in shadow on async traffic too; the job ends once both records are stored.
    await service.runChallenger(usecase, summary, input, row.id);
    return { recordId: row.id, outcome: row.outcome };
  };

  /**
   * Fails request `requestId` whose job died before storing a record (its worker was lost on every
   * attempt, or every attempt threw): the request ends `failed` with `reason` and, when it has a
   * callback, raises `decision.completed` so its caller hears of it; false when it had already ended.
   */
  async failLost(requestId: string, reason: string): Promise<boolean> {
    return this.deps.store.transaction(async (trx) => {
      const request = await this.deps.store.failQueuedRequest(requestId, reason, trx);
      if (!request) return false;
      if (request.callback_url) {
        await appendEvent(trx, { type: DECISION_COMPLETED_EVENT, subject: `decisions/${request.usecase}/requests/${requestId}`, data: { requestId, recordId: null, usecase: request.usecase, status: 'failed', error: reason } });
      }
      return true;
    });
  }

  /** The owner of dead `decisions.decide` jobs: a queued decision whose job died ends `failed`, naming how the job ended. */
  readonly deadJob: DeadJobOwner = async (job) => {
    if (typeof job.refs.requestId === 'string') await this.failLost(job.refs.requestId, `the decision job ${jobDeath(job)}`);
  };

  /** The outbox subscriber that POSTs each finished request's result (its record, or why it failed without one) to its callback URL. */
  readonly callbacks: OutboxHandler = async (event) => {
    const { requestId } = event.data as { requestId: string };
    const request = await this.deps.store.request(requestId);
    if (!request?.callback_url || !request.callback_secret) return;
    let result: Record<string, unknown>;
    if (request.record_id) {
      const record = await this.deps.store.record(request.record_id);
      if (!record) return;
      const r = toRecord(record);
      result = { record: { id: r.id, usecase: r.usecase, version: r.version, subject: r.subject, status: r.status, outcome: r.outcome, reasons: r.reasons, output: r.output, time: r.time } };
    } else if (request.status === 'failed') {
      result = { status: 'failed', error: request.error };
    } else return;
    const body = JSON.stringify({ type: event.type, id: event.id, requestId, ...result });
    await assertOutboundUrl(request.callback_url, this.deps.outbound, { purpose: 'callback URL' });
    const secret = this.deps.box.open(request.callback_secret, requestId);
    const res = await httpRequest(request.callback_url, {
      method: 'POST',
      dispatcher: this.deps.agent,
      headers: { 'content-type': 'application/json', 'user-agent': 'capstan-decisions', ...webhookHeaders(secret, { id: event.id, timestamp: Math.floor(Date.now() / 1000), body }) },
      body,
      headersTimeout: CALLBACK_TIMEOUT_MS,
      bodyTimeout: CALLBACK_TIMEOUT_MS,
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`decision callback ${new URL(request.callback_url).host} answered HTTP ${res.statusCode}`);
  };
}

function statusOf(row: RequestRow): DecisionRequestStatus {
  return { id: row.id, usecase: row.usecase, status: row.status as DecisionRequestStatus['status'], recordId: row.record_id, error: row.error, createdAt: iso(row.created_at)!, finishedAt: iso(row.finished_at) };
}
