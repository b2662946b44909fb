import { randomUUID } from 'node:crypto';
import { sleep } from '../core/clock.js';
import { CapstanError, isCapstanError, isRetryable } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { toDomainEvent } from '../storage/outbox/index.js';
import { inputKey, resolveInput } from './artifact-digest.js';
import { cacheKey } from './cache.js';
import { isCommandStep, type StepDefinition } from './definition.js';
import { isFinalStepState, type ExecutionRecord, type ExecutionState, type ExecutionWork, type StepRecord } from './execution.js';
import { reapAttempt } from './attempt-reaper.js';
import { buildGraph, type StepGraph } from './graph.js';
import { LeaseKeeper } from './lease-keeper.js';
import type { LogStore } from './log-store.js';
import { resolveValue, type ReferenceScope } from './references.js';
import type { SqlPipelineStore, StepPatch } from './sql-pipeline-store.js';
import { cachedPropertyRefreshers, stepHandlers } from './steps/index.js';
import type { StepOutcome, StepServices } from './steps/step-handler.js';

/** How one process runs executions it holds a lease on. */
export interface RunnerOptions {
  /** This scheduler's identity in lease columns. */
  owner: string;
  /**
   * Lease length; renewed every third of it. A runner that cannot renew for two thirds of it stops
   * its attempts (SIGTERM, then SIGKILL after the executor's grace period, which should stay under a
   * third of the lease so no attempt outlives the lease).
   */
  leaseMs: number;
  /** How often a running execution checks for a cancel request; default 500 ms. */
  cancelPollMs?: number;
  events?: EventBus;
}

const CACHEABLE = new Set(['processing', 'training', 'evaluation', 'register-model', 'function']);

/** Why an execution stopped being driven by this runner. */
type Stop = 'lease-lost' | 'shutdown' | undefined;

/** First wait before retrying a write the database refused with an error (doubling up to 2 s). */
const RETRY_MS = 100;

/**
 * Drives one execution to its end while holding its lease: starts every step whose dependencies
 * have succeeded (parallel branches run at once), skips branches a condition did not take and
 * steps downstream of skipped ones, applies retry policies, answers cancel requests, and reuses
 * cached results. Every state change is written through to the database first, so a process
 * killed at any point leaves a record another scheduler continues from: finished steps keep their
 * results and the interrupted attempt runs again. Every write is fenced (fence.ts): it carries the
 * lease token this runner took and, for an attempt, the attempt's token, so a runner that lost its
 * lease — it could not renew it, or another scheduler took it over — changes nothing any more; it
 * stops its attempts' processes at once.
 */
export class ExecutionRunner {
  private stop: Stop;
  private readonly controllers = new Set<AbortController>();
  /** Steps whose previous attempt died with its scheduler; the next attempt's log says so. */
  private readonly interrupted = new Set<string>();
  /** Attempts in flight, by step name. */
  private readonly running = new Map<string, Promise<void>>();
  /** Each step's current attempt token (what its next attempt's compare-and-set expects). */
  private tokens = new Map<string, string | null>();
  private lease: LeaseKeeper | undefined;

  constructor(
    private readonly store: SqlPipelineStore,
    private readonly logs: LogStore,
    private readonly services: StepServices,
    private readonly options: RunnerOptions,
  ) {}

  /** Stops driving (graceful shutdown): running attempts are aborted without being marked, and the lease is released. */
  shutdown(): void {
    this.stop = 'shutdown';
    for (const c of this.controllers) c.abort();
  }

  /** Runs a claimed execution until it ends (or the lease is lost / the runner shuts down). */
  async run(id: string): Promise<ExecutionRecord> {
    const lease = new LeaseKeeper(this.store, id, this.options.owner, this.options.leaseMs, (reason) => this.loseLease(id, reason));
    this.lease = lease;
    if (!(await lease.take())) return this.store.getExecution(id);
    try {
      return await this.drive(id);
    } catch (err) {
      // Never leave an attempt running unowned: its process is stopped before the lease can expire.
      if (!this.stop) this.loseLease(id, `the runner failed: ${(err as Error).message}`);
      await Promise.allSettled(this.running.values());
      throw err;
    } finally {
      lease.stop();
    }
  }

  private loseLease(id: string, reason: string): void {
    if (this.stop === 'lease-lost') return;
    this.stop = 'lease-lost';
    this.services.logger.warn({ executionId: id, reason }, 'lost the lease on a pipeline execution; stopping its running attempts');
    for (const c of this.controllers) c.abort();
  }

  private fenced(id: string): CapstanError {
    return new CapstanError('CAPSTAN_PIPELINE_LEASE_LOST', `execution ${id}: this runner no longer holds the lease (${this.lease?.lost ?? 'its token is stale'})`, { retryable: false, fields: { executionId: id } });
  }

  private async drive(id: string): Promise<ExecutionRecord> {
    const work = await this.store.getWork(id);
    if (work.state === 'succeeded' || work.state === 'failed' || work.state === 'cancelled') return work;
    if (!(await this.store.markRunning(id, this.lease!.token))) throw this.fenced(id);
    const graph = buildGraph(work.definition.steps);
    const records = new Map(work.steps.map((s) => [s.name, s]));
    const attempts = await this.store.attemptRows(id);
    this.tokens = new Map([...attempts].map(([name, a]) => [name, a.token]));
    for (const rec of records.values()) {
      if (rec.state !== 'running') continue;
      // The previous owner died or lost its lease mid-attempt; at-least-once: the attempt runs again.
      // What it left behind goes first, then the reset (which clears its token) fences it for good.
      await reapAttempt(work.id, rec.name, attempts.get(rec.name), this.services);
      await this.patch(work.id, rec, { state: 'pending', attemptToken: null, attemptPgid: null, attemptRunId: null }, this.tokens.get(rec.name) ?? null);
      this.tokens.set(rec.name, null);
      this.interrupted.add(rec.name);
    }
    const running = this.running;
    let failure: string | null = null;
    let cancelled = false;
    let lastCancelCheck = 0;
    // A step may finish while this loop awaits the database; the flag makes sure that wake-up is not lost.
    let signalled = false;
    let resolver: (() => void) | undefined;
    const wake = () => {
      signalled = true;
      resolver?.();
    };
    try {
      for (;;) {
        if (this.stop) break;
        signalled = false;
        const now = Date.now();
        if (!cancelled && now - lastCancelCheck >= (this.options.cancelPollMs ?? 500)) {
          lastCancelCheck = now;
          // An unreachable database is not a cancel request; the lease keeper decides when to give up.
          if (await this.store.cancelRequested(id).catch(() => false)) {
            cancelled = true;
            for (const c of this.controllers) c.abort();
          }
        }
        let nextWake = Infinity;
        for (const def of work.definition.steps) {
          const rec = records.get(def.name)!;
          if (rec.state !== 'pending' && rec.state !== 'waiting') continue;
          if (cancelled || failure) {
            await this.patch(id, rec, { state: cancelled ? 'cancelled' : 'skipped', nextAttemptAt: null });
            continue;
          }
          const decision = this.decide(def, graph, records);
          if (decision === 'skip') await this.patch(id, rec, { state: 'skipped', finishedAt: Date.now() });
          else if (decision === 'ready') {
            if (rec.state === 'waiting' && (rec.nextAttemptAt ?? 0) > Date.now()) {
              nextWake = Math.min(nextWake, rec.nextAttemptAt!);
              continue;
            }
            const p = this.attempt(work, graph, def, rec, records).then(
              (f) => void (f && (failure ??= f)),
              (err) => void (failure ??= `step "${def.name}": ${(err as Error).message}`),
            ).finally(() => {
              running.delete(def.name);
              wake();
            });
            running.set(def.name, p);
          }
        }
        const anyOpen = [...records.values()].some((r) => !isFinalStepState(r.state));
        if (running.size === 0 && (!anyOpen || nextWake === Infinity)) {
          if (anyOpen && !cancelled && !failure) {
            // Nothing can start and nothing runs: only possible for a definition the validator should have refused.
            failure = 'no step can start (unsatisfiable dependencies)';
            continue;
          }
          break;
        }
        const waitMs = Math.min(nextWake - Date.now(), cancelled ? 1000 : (this.options.cancelPollMs ?? 500));
        if (!signalled) await Promise.race([new Promise<void>((r) => (resolver = r)), sleep(Math.max(1, waitMs))]);
        resolver = undefined;
      }
      if (this.stop) {
        await Promise.allSettled(running.values());
        if (this.stop === 'shutdown') {
          // Renewing a released lease would be refused and read as a takeover.
          this.lease!.stop();
          await this.store.release(id, this.lease!.token);
        }
        return this.store.getExecution(id);
      }
      const state: ExecutionState = cancelled ? 'cancelled' : failure ? 'failed' : 'succeeded';
      this.lease!.stop();
      const event = await this.store.finishExecution(id, state, cancelled ? 'cancelled on request' : failure, this.lease!.token);
      if (!event) throw this.fenced(id);
      const done = await this.store.getExecution(id);
      // The outbox has the durable copy; the local bus carries the same event to this process's metrics.
      await this.options.events?.publish(toDomainEvent(event));
      return done;
    } finally {
      resolver = undefined;
    }
  }

  private decide(def: StepDefinition, graph: StepGraph, records: Map<string, StepRecord>): 'ready' | 'skip' | 'wait' {
    let ready = true;
    for (const d of graph.dependencies.get(def.name) ?? []) {
      const st = records.get(d)?.state;
      if (st === 'skipped' || st === 'failed' || st === 'cancelled') return 'skip';
      if (st !== 'succeeded') ready = false;
    }
    if (!ready) return 'wait';
    for (const g of graph.guards.get(def.name) ?? []) {
      const taken = records.get(g.condition)!.properties.result === true ? 'then' : 'else';
      if (taken !== g.branch) return 'skip';
    }
    return 'ready';
  }

  /**
   * Writes a step change through the fence: `attempt` is the attempt token the row must still hold
   * (undefined: any). A database error is retried until it succeeds or the lease is lost (the lease
   * keeper gives up after two thirds of a lease), so an outage shorter than that loses no state;
   * a refused write means another runner owns the execution: this one stops and throws.
   */
  private async patch(id: string, rec: StepRecord, patch: StepPatch, attempt?: string | null): Promise<void> {
    for (let delay = RETRY_MS; ; delay = Math.min(delay * 2, 2000)) {
      if (this.stop === 'lease-lost') throw this.fenced(id);
      let ok: boolean;
      try {
        ok = await this.store.updateStep(id, rec.name, patch, { lease: this.lease!.token, attempt });
      } catch (err) {
        this.services.logger.warn({ err, executionId: id, step: rec.name }, 'could not write a step change; retrying');
        await sleep(delay);
        continue;
      }
      if (!ok) {
        this.loseLease(id, `a write of step "${rec.name}" was refused (stale lease or attempt token)`);
        throw this.fenced(id);
      }
      break;
    }
    const { attemptToken: _t, attemptOwner: _o, attemptPgid: _p, attemptRunId: _r, ...visible } = patch;
    Object.assign(rec, {
      ...visible,
      ...(patch.error !== undefined ? { error: patch.error } : {}),
      ...(patch.cachedFrom !== undefined ? { cached: patch.cachedFrom != null } : {}),
      ...(patch.startedAt !== undefined ? { startedAt: patch.startedAt == null ? null : new Date(patch.startedAt).toISOString() } : {}),
      ...(patch.finishedAt !== undefined ? { finishedAt: patch.finishedAt == null ? null : new Date(patch.finishedAt).toISOString() } : {}),
    });
  }

  private scope(work: ExecutionWork, records: Map<string, StepRecord>, digests = false): ReferenceScope {
    const steps: ReferenceScope['steps'] = {};
    for (const [name, r] of records) {
      if (r.state !== 'succeeded') continue;
      const outputs = Object.fromEntries(Object.entries(r.outputs).map(([k, o]) => [k, { uri: digests ? o.digest : o.uri }]));
      steps[name] = { outputs, properties: r.properties, metrics: r.metrics };
    }
    return { params: work.params, steps, execution: { id: work.id, pipeline: work.pipeline } };
  }

  /** One attempt; returns a failure message when the execution must fail. */
  private async attempt(work: ExecutionWork, graph: StepGraph, def: StepDefinition, rec: StepRecord, records: Map<string, StepRecord>): Promise<string | undefined> {
    const attempt = rec.attempts + 1;
    const started = Date.now();
    // Compare-and-set on the attempt row: the new token replaces the one this runner last saw.
    const token = randomUUID();
    await this.patch(work.id, rec, { state: 'running', attempts: attempt, startedAt: started, nextAttemptAt: null, error: null, attemptToken: token, attemptOwner: this.options.owner, attemptPgid: null, attemptRunId: null }, this.tokens.get(def.name) ?? null);
    this.tokens.set(def.name, token);
    const fence = { lease: this.lease!.token, attempt: token };
    const writer = this.logs.writer({ executionId: work.id, pipeline: work.pipeline, step: def.name, attempt }, {
      fence,
      onFenced: (dropped) => this.services.logger.warn({ executionId: work.id, step: def.name, attempt, dropped }, 'log lines of an attempt that lost its lease were dropped'),
    });
    // Lines a step prints after its runner lost the lease (while it is being stopped) belong to no attempt.
    const log = (stream: 'stdout' | 'stderr' | 'system', line: string) => void (this.stop !== 'lease-lost' && writer.write(stream, line));
    if (this.interrupted.delete(def.name)) log('system', `attempt ${attempt - 1} was interrupted (its scheduler stopped or lost its lease; lines it could not store before that were dropped); running the step again`);
    const controller = new AbortController();
    this.controllers.add(controller);
    // Bookkeeping of the attempt's process and registry run, so a restart can clean up after it: one
    // fenced try, never retried, and a refusal is not read as a lost lease — a write delayed past the
    // attempt's end would otherwise meet the next attempt's token and stop the whole runner.
    const record = (patch: StepPatch) => this.store.updateStep(work.id, rec.name, patch, fence).then(() => undefined, () => undefined);
    try {
      const scope = this.scope(work, records);
      const resolved = resolveValue(def, scope);
      let key: string | null = null;
      if (def.cache && CACHEABLE.has(def.type)) {
        key = await this.cacheKeyOf(work, def, resolved, records);
        const hit = await this.store.findCached(work.pipeline, key, work.id);
        if (hit && (await this.outputsExist(hit.step))) {
          log('system', `cache hit (key ${key}): reusing the result of execution ${hit.executionId}`);
          await this.patch(work.id, rec, {
            state: 'succeeded', cacheKey: key, cachedFrom: hit.executionId, outputs: hit.step.outputs, properties: (await cachedPropertyRefreshers[def.type]?.(hit.step.properties, this.services)) ?? hit.step.properties,
            metrics: hit.step.metrics, warnings: hit.step.warnings, finishedAt: Date.now(),
          }, token);
          return undefined;
        }
        log('system', `cache miss (key ${key})`);
      }
      const outcome: StepOutcome = await stepHandlers[def.type](
        {
          work, graph, step: resolved, attempt, scope, finished: records, signal: controller.signal, log,
          onSpawn: (pgid) => void record({ attemptPgid: pgid }),
          onRun: (runId) => record({ attemptRunId: runId }),
          stillCurrent: () => this.patch(work.id, rec, {}, token),
        },
        this.services,
      );
      for (const w of outcome.warnings) log('system', `warning: ${w}`);
      await this.patch(work.id, rec, {
        state: 'succeeded', cacheKey: key, cachedFrom: null, outputs: outcome.outputs, properties: outcome.properties,
        metrics: outcome.metrics, warnings: outcome.warnings, finishedAt: Date.now(), attemptPgid: null,
      }, token);
      return undefined;
    } catch (err) {
      if (this.stop) return undefined;
      const code = isCapstanError(err) ? err.code : 'CAPSTAN_INTERNAL';
      const message = isCapstanError(err) ? err.message : `unexpected error: ${(err as Error)?.message ?? String(err)}`;
      if (!isCapstanError(err)) this.services.logger.error({ err, step: def.name, executionId: work.id }, 'step failed unexpectedly');
      log('system', `error: ${message} (${code})`);
      if (code === 'CAPSTAN_PIPELINE_STEP_CANCELLED' || controller.signal.aborted) {
        await this.patch(work.id, rec, { state: 'cancelled', error: { code: 'CAPSTAN_PIPELINE_STEP_CANCELLED', message }, finishedAt: Date.now(), attemptPgid: null }, token);
        return undefined;
      }
      const failures = rec.failures + 1;
      const retryable = isRetryable(err);
      if (retryable && failures < def.retry.attempts) {
        const delay = Math.min(def.retry.maxBackoffMs, def.retry.backoffMs * def.retry.backoffRate ** (failures - 1));
        log('system', `retrying in ${delay} ms (${failures} of ${def.retry.attempts} attempts failed)`);
        await this.patch(work.id, rec, { state: 'waiting', failures, nextAttemptAt: Date.now() + delay, error: { code, message }, attemptPgid: null }, token);
        return undefined;
      }
      await this.patch(work.id, rec, { state: 'failed', failures, error: { code, message }, finishedAt: Date.now(), attemptPgid: null }, token);
      return `step "${def.name}" failed: ${message}`;
    } finally {
      this.controllers.delete(controller);
      await writer.flush();
    }
  }

  private async cacheKeyOf(work: ExecutionWork, def: StepDefinition, resolved: StepDefinition, records: Map<string, StepRecord>): Promise<string> {
    const byDigest = resolveValue(def, this.scope(work, records, true)) as unknown as Record<string, unknown>;
    const inputs: Record<string, string> = {};
    if (isCommandStep(resolved)) {
      for (const [channel, value] of Object.entries(resolved.inputs)) inputs[channel] = (await resolveInput(this.services.artifacts, channel, value)).digest;
      // An input is identified by its content: the same file dropped under a new key (a second
      // artifact-trigger firing, a copy in another bucket) must hit the cache.
      byDigest.inputs = Object.fromEntries(Object.keys(resolved.inputs).map((channel) => [channel, 'content']));
    }
    return cacheKey({ step: byDigest, inputs, code: work.codeDigest });
  }

  private async outputsExist(step: StepRecord): Promise<boolean> {
    for (const o of Object.values(step.outputs)) {
      try {
        if ((await this.services.artifacts.list(inputKey(this.services.artifacts, o.uri))).length === 0) return false;
      } catch {
        return false;
      }
    }
    return true;
  }
}
