import { createHash } from 'node:crypto';
import { CapstanError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { assertOutboundUrl, type OutboundSettings } from '../core/outbound-guard.js';
import type { Logger } from '../core/logger.js';
import { compileUseCase, type CompiledUseCase } from './compile-usecase.js';
import type { ActivateOptions, ApplyOptions, DecisionCallback, DecisionService, DocumentedUseCase } from './decision-service.js';
import type { ChallengerComparison, DecisionQuery, DecisionRecord, DecisionRequestStatus, DecisionResult, ReplayOptions, ReplayReport, UseCaseSummary, UseCaseVersion } from './decision-types.js';
import type { DecisionMetrics } from './decision-metrics.js';
import { runDecision, type DecisionSnapshot } from './run-decision.js';
import { replayRecords } from './replay.js';
import { replayProjection } from './replay-one.js';
import { toRecord, type RecordRow, type SqlDecisionStore } from './sql-decision-store.js';
import type { TaskRunnerDeps } from './task-runners.js';
import type { AsyncDecisions } from './async-decisions.js';

/** How long a process trusts its copy of a use case's active/challenger versions. */
const ROLES_TTL_MS = 1000;

/** Canonical JSON (sorted keys), so equal definitions get equal digests. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** What the local service is built from. */
export interface LocalDecisionDeps {
  store: SqlDecisionStore;
  runner: TaskRunnerDeps;
  outbound: OutboundSettings;
  metrics: DecisionMetrics;
  logger: Logger;
  /** Queues async decisions and announces their results. */
  async: () => AsyncDecisions;
}

/** The decision service on the metadata database, running decisions in this process. */
export class LocalDecisionService implements DecisionService {
  private readonly compiled = new Map<string, CompiledUseCase>();
  private readonly roles = new Map<string, { at: number; summary: UseCaseSummary }>();

  constructor(private readonly deps: LocalDecisionDeps) {}

  async apply(definition: unknown, options: ApplyOptions = {}) {
    const uc = compileUseCase(definition);
    // Resolved now so a use case that reads features is refused while the features context is missing.
    if (uc.tasks.some((t) => t.type === 'features')) this.deps.runner.features();
    const urls = [
      ...uc.tasks.filter((t) => t.type === 'http').map((t) => ({ url: (t as { url: string }).url, purpose: `task ${t.name} URL` })),
      ...(uc.definition.alerts?.slackUrl ? [{ url: uc.definition.alerts.slackUrl, purpose: 'alerts.slackUrl' }] : []),
      ...(uc.definition.alerts?.webhookUrl ? [{ url: uc.definition.alerts.webhookUrl, purpose: 'alerts.webhookUrl' }] : []),
    ];
    for (const { url, purpose } of urls) await assertOutboundUrl(url, this.deps.outbound, { purpose });
    const stored = await this.deps.store.addVersion(uc.name, uc.definition, createHash('sha256').update(canonical(uc.definition)).digest('hex'), options.actor ?? 'local');
    this.compiled.set(`${uc.name}@${stored.version}`, uc);
    if (options.activate) await this.deps.store.setRoles(uc.name, { active: stored.version });
    this.roles.delete(uc.name);
    return { usecase: await this.deps.store.requireUseCase(uc.name), version: stored.version, created: stored.created };
  }

  async activate(usecase: string, version: number | null, options: ActivateOptions = {}): Promise<UseCaseSummary> {
    await this.deps.store.requireUseCase(usecase);
    if (version !== null) await this.version(usecase, version);
    if (options.challenger) await this.deps.store.setRoles(usecase, { challenger: version });
    // Retiring keeps every version and record (audit, replay); decisions answer NO_ACTIVE_VERSION until one is activated again.
    else if (version === null) await this.deps.store.setRoles(usecase, { active: null, challenger: null });
    else await this.deps.store.setRoles(usecase, { active: version });
    this.roles.delete(usecase);
    return this.deps.store.requireUseCase(usecase);
  }

  useCases(): Promise<UseCaseSummary[]> {
    return this.deps.store.useCases();
  }

  async describe(usecase: string, version?: number) {
    const summary = await this.deps.store.requireUseCase(usecase);
    const v = await this.versionRow(usecase, version ?? summary.activeVersion ?? summary.latestVersion);
    // The alert webhook's signing secret is not shown back.
    if (v.definition.alerts?.webhookSecret) v.definition.alerts.webhookSecret = '***';
    return { ...v, summary };
  }

  /** The compiled version, compiled once per process. */
  async version(usecase: string, version: number): Promise<CompiledUseCase> {
    const key = `${usecase}@${version}`;
    const hit = this.compiled.get(key);
    if (hit) return hit;
    const uc = compileUseCase((await this.versionRow(usecase, version)).definition);
    this.compiled.set(key, uc);
    return uc;
  }

  private async versionRow(usecase: string, version: number): Promise<UseCaseVersion> {
    const v = await this.deps.store.version(usecase, version);
    if (!v) throw new CapstanError('CAPSTAN_DECISIONS_VERSION_NOT_FOUND', `use case ${usecase} has no version ${version}`, { fields: { usecase, version } });
    return v;
  }

  /** The use case's roles, cached briefly so a hot path does not read them on every call. */
  async summary(usecase: string): Promise<UseCaseSummary> {
    const cached = this.roles.get(usecase);
    if (cached && Date.now() - cached.at < ROLES_TTL_MS) return cached.summary;
    const summary = await this.deps.store.requireUseCase(usecase);
    this.roles.set(usecase, { at: Date.now(), summary });
    return summary;
  }

  /** The active version, compiled; CAPSTAN_DECISIONS_NO_ACTIVE_VERSION while all are drafts. */
  async active(usecase: string): Promise<{ summary: UseCaseSummary; uc: CompiledUseCase }> {
    const summary = await this.summary(usecase);
    if (summary.activeVersion === null) throw new CapstanError('CAPSTAN_DECISIONS_NO_ACTIVE_VERSION', `use case ${usecase} has no active version; activate one with capstan decisions activate ${usecase} --version N`, { fields: { usecase } });
    return { summary, uc: await this.version(usecase, summary.activeVersion) };
  }

  /** Checks the input against the version's schema: 400 listing every violation, nothing stored. */
  checkInput(uc: CompiledUseCase, input: unknown): Record<string, unknown> {
    if (uc.validateInput(input) && input && typeof input === 'object' && !Array.isArray(input)) return input as Record<string, unknown>;
    this.deps.metrics.rejected.inc({ usecase: uc.name });
    const violations = (uc.validateInput.errors ?? []).map((e) => `${e.instancePath || '(input)'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
    if (violations.length === 0) violations.push('(input) must be an object');
    throw new CapstanError('CAPSTAN_DECISIONS_INPUT_INVALID', `the input does not match use case ${uc.name}: ${violations.join('; ')}`, { fields: { usecase: uc.name, violations }, retryable: false });
  }

  async decide(usecase: string, input: unknown): Promise<DecisionResult> {
    const { summary, uc } = await this.active(usecase);
    const checked = this.checkInput(uc, input);
    const id = newId('dec');
    const { row, snapshot } = await this.execute(uc, summary.activeVersion!, checked, 'champion', id);
    void this.runChallenger(usecase, summary, checked, id);
    return resultOf(row, snapshot);
  }

  /** Runs a decision and stores its record (through `store` when given, e.g. in the caller's transaction); the row as stored and its snapshot. */
  async execute(uc: CompiledUseCase, version: number, input: Record<string, unknown>, role: 'champion' | 'challenger', id: string, pairedWith?: string, store: (row: RecordRow) => Promise<void> = (row) => this.deps.store.insertRecord(row)): Promise<{ row: RecordRow; snapshot: DecisionSnapshot }> {
    const started = performance.now();
    const snapshot = await runDecision(uc, input, this.deps.runner);
    const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    const row: RecordRow = { id, usecase: uc.name, version, role, subject: snapshot.subject, paired_with: pairedWith ?? null, status: snapshot.error ? 'error' : 'ok', outcome: snapshot.outcome, latency_ms: latencyMs, created_at: Date.now(), snapshot: JSON.stringify(snapshot), replay: replayProjection(snapshot) };
    await store(row);
    this.deps.metrics.observe(uc.name, role, row.status, row.outcome, latencyMs);
    return { row, snapshot };
  }

  /**
   * Runs the use case's challenger, if it has one, on the input a champion decision `championId` was
   * made from, storing its record paired with the champion's. Never rejects: a challenger failure is
   * logged and never reaches the caller. Sync decisions start it after answering; async ones await it
   * in their job.
   */
  async runChallenger(usecase: string, summary: UseCaseSummary, input: Record<string, unknown>, championId: string): Promise<void> {
    const version = summary.challengerVersion;
    if (version === null || version === summary.activeVersion) return;
    try {
      const uc = await this.version(usecase, version);
      await this.execute(uc, version, input, 'challenger', `${championId}c`, championId);
    } catch (err) {
      this.deps.logger.warn({ err, usecase, version }, 'challenger decision failed');
    }
  }

  decideAsync(usecase: string, input: unknown, callback?: DecisionCallback) {
    return this.deps.async().submit(usecase, input, callback);
  }

  request(id: string): Promise<DecisionRequestStatus> {
    return this.deps.async().status(id);
  }

  async records(query: DecisionQuery): Promise<DecisionRecord[]> {
    for (const key of ['since', 'until'] as const) {
      if (query[key] !== undefined && Number.isNaN(Date.parse(query[key]!))) throw new CapstanError('CAPSTAN_DECISIONS_QUERY_INVALID', `${key} must be an ISO time, got ${JSON.stringify(query[key])}`);
    }
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CapstanError('CAPSTAN_DECISIONS_QUERY_INVALID', `limit must be an integer from 1 to 1000, got ${limit}`);
    if (query.usecase) await this.deps.store.requireUseCase(query.usecase);
    return (await this.deps.store.records({ ...query, limit })).map(toRecord);
  }

  async record(id: string): Promise<DecisionRecord> {
    const row = await this.deps.store.record(id);
    if (!row) throw new CapstanError('CAPSTAN_DECISIONS_RECORD_NOT_FOUND', `no decision record ${id}`, { fields: { id } });
    return toRecord(row);
  }

  async replay(usecase: string, options: ReplayOptions): Promise<ReplayReport> {
    await this.deps.store.requireUseCase(usecase);
    const uc = await this.version(usecase, options.version);
    return replayRecords(this.deps.store, uc, options);
  }

  async compare(usecase: string, since: string): Promise<ChallengerComparison> {
    const summary = await this.deps.store.requireUseCase(usecase);
    const sinceMs = Date.parse(since);
    if (Number.isNaN(sinceMs)) throw new CapstanError('CAPSTAN_DECISIONS_QUERY_INVALID', `since must be an ISO time, got ${JSON.stringify(since)}`);
    const champion = { version: summary.activeVersion, decisions: 0, outcomes: {} as Record<string, number> };
    const challenger = { version: summary.challengerVersion, decisions: 0, outcomes: {} as Record<string, number> };
    for (const c of await this.deps.store.counts(usecase, sinceMs)) {
      const side = c.role === 'challenger' ? challenger : champion;
      side.decisions += c.n;
      side.outcomes[c.outcome ?? 'error'] = (side.outcomes[c.outcome ?? 'error'] ?? 0) + c.n;
    }
    const disagreements = await this.deps.store.disagreements(usecase, sinceMs);
    return {
      usecase,
      since: new Date(sinceMs).toISOString(),
      champion,
      challenger,
      disagreements,
    };
  }

  async documented(): Promise<DocumentedUseCase[]> {
    const out: DocumentedUseCase[] = [];
    for (const s of await this.deps.store.useCases()) {
      if (s.activeVersion === null) continue;
      const v = await this.versionRow(s.name, s.activeVersion);
      const rules = v.definition.rules;
      const cel = rules.engine === 'cel' ? { outcomes: [...new Set([...rules.rules.map((r) => r.outcome), rules.default.outcome])], outputFields: Object.keys(rules.output ?? {}) } : {};
      out.push({ name: s.name, version: s.activeVersion, description: v.definition.description, inputSchema: v.definition.input.schema, inputExample: v.definition.input.example, ...cel });
    }
    return out;
  }
}

/** The caller's answer from a stored champion record; an errored decision answers its error (the record id included). */
export function resultOf(row: RecordRow, snapshot = JSON.parse(row.snapshot) as DecisionSnapshot): DecisionResult {
  if (snapshot.error) {
    const code = snapshot.error.code as ConstructorParameters<typeof CapstanError>[0];
    throw new CapstanError(code in CODES ? code : 'CAPSTAN_DECISIONS_TASK_FAILED', snapshot.error.message, { fields: { recordId: row.id, usecase: row.usecase } });
  }
  return {
    id: row.id,
    usecase: row.usecase,
    version: row.version,
    subject: row.subject,
    outcome: row.outcome!,
    reasons: snapshot.reasons,
    output: snapshot.output,
    defaulted: snapshot.tasks.filter((t) => t.status === 'defaulted').map((t) => t.name),
    latencyMs: row.latency_ms,
  };
}

const CODES: Record<string, true> = { CAPSTAN_DECISIONS_TASK_FAILED: true, CAPSTAN_DECISIONS_TASK_TIMEOUT: true, CAPSTAN_DECISIONS_DEADLINE_EXCEEDED: true, CAPSTAN_DECISIONS_RULES_FAILED: true, CAPSTAN_DECISIONS_INPUT_INVALID: true };
