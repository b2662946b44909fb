import { enrichBody } from './feature-enrichment.js';
import type { VariantFeatures } from './feature-enrichment.js';
import { parseFeatureRef, type FeatureService } from '../features/index.js';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CapstanError, isCapstanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { OutboundSettings } from '../core/outbound-guard.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { DataCaptureWriter } from './data-capture.js';
import type { Endpoint, LiveVariantState, StoredVariant } from './endpoint.js';
import type { ModelSource } from './model-source.js';
import type { ServingMetrics, VariantMetrics } from './serving-metrics.js';
import type { SqlEndpointStore } from './sql-endpoint-store.js';
import type { Tensors } from './runtimes/tensors.js';
import type { WorkerResult } from './model-worker.js';
import { MultiModelPool } from './multi-model-pool.js';
import type { MultiModelVariantState } from './multi-model-state.js';
import type { InvocationInput, InvocationOutput, LiveEndpoint, LiveVariant } from './live-endpoint.js';
import { pickVariantForModel } from './target-model-routing.js';
import type { PipelineResult } from './pipeline-runner.js';
import { buildVariantRunner, type VariantRunner } from './variant-runner.js';
import { mirrorToShadows } from './shadow-mirror.js';
import type { AnsweredInvocation } from './answered-invocation.js';
import { bodyText, type InvocationBody } from './invocation-body.js';
import { createTrafficPolicy, type TrafficContext } from './traffic-policy.js';
import { Outcome, outcomeOf, type VariantStatsRecorder } from './variant-stats-recorder.js';

export type { LiveVariant, LiveEndpoint, InvocationInput, InvocationOutput } from './live-endpoint.js';

/** What the host needs from the platform. */
export interface EndpointHostDeps {
  store: SqlEndpointStore;
  models: ModelSource;
  artifacts: ArtifactStore;
  logger: Logger;
  metrics: ServingMetrics;
  /** Per-variant counts that are flushed to the metadata DB for every process to read. */
  stats: VariantStatsRecorder;
  outbound: OutboundSettings;
  /** How long a removed or replaced variant may finish in-flight requests; default 30000 ms. */
  drainMs?: number;
  /** The feature store, for variants with `features:` enrichment; looked up per request (absent: such variants answer 500). */
  features?: () => FeatureService;
  /** Where multi-model variants unpack packages from an artifact prefix; default `<tmp>/capstan-multi-model`. */
  multiModelDir?: string;
}

/** New pools started for a configuration, not yet receiving traffic. */
export interface PreparedVariants {
  variants: StoredVariant[];
  started: Map<string, VariantRunner | MultiModelPool>;
}

function poolKey(v: StoredVariant): string {
  const { weight: _w, resolved, name, ...rest } = v;
  return JSON.stringify([name, resolved.name, resolved.version, resolved.digest, rest]);
}

const MISSING_TTL_MS = 1000;

/**
 * The endpoints this process serves. The routing table for each endpoint is an immutable object
 * swapped in one assignment, so a request sees either the old or the new configuration, never a mix.
 * Updates are blue/green: new pools start and load first, traffic switches, then the old pools drain
 * their in-flight requests and stop. Nothing on the request path reads the database.
 */
export class EndpointHost {
  private readonly live = new Map<string, LiveEndpoint>();
  private readonly loading = new Map<string, Promise<LiveEndpoint>>();
  private readonly missing = new Map<string, number>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private closed = false;
  /** Told of each answered invocation (feedback joins outcomes by inference id; rollouts read output scores). Keep them cheap: they run on the request path. */
  readonly invocationListeners: ((e: AnsweredInvocation) => void)[] = [];

  constructor(private readonly deps: EndpointHostDeps) {}

  /** The endpoint if this process already serves it (the request fast path). */
  get(name: string): LiveEndpoint | undefined {
    return this.live.get(name);
  }

  /** Names of the endpoints loaded here. */
  names(): string[] {
    return [...this.live.keys()];
  }

  /** Serves the endpoint, loading it from the database the first time; 404 / 503 when it cannot. */
  async ensure(name: string): Promise<LiveEndpoint> {
    const hit = this.live.get(name);
    if (hit) return hit;
    if ((this.missing.get(name) ?? 0) > Date.now()) throw notFound(name);
    let pending = this.loading.get(name);
    if (!pending) {
      pending = this.exclusive(name, async () => {
        const again = this.live.get(name);
        if (again) return again;
        const record = await this.deps.store.find(name);
        if (!record) {
          this.missing.set(name, Date.now() + MISSING_TTL_MS);
          throw notFound(name);
        }
        if (record.status !== 'InService' && record.status !== 'Updating') {
          throw new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY', `endpoint ${name} is ${record.status}${record.statusReason ? `: ${record.statusReason}` : ''}`, { fields: { endpoint: name, endpointStatus: record.status } });
        }
        await this.applyUnlocked(record, await this.prepare(name, record.variants));
        const loaded = this.live.get(name);
        // A host closing while the endpoint loaded discards it; the request gets a clear 503, not a TypeError.
        if (!loaded) throw new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY', `endpoint ${name} is not served here: this server is shutting down`, { fields: { endpoint: name } });
        return loaded;
      }).finally(() => this.loading.delete(name));
      this.loading.set(name, pending);
    }
    return pending;
  }

  /** Runs `fn` with no other change to the same endpoint in progress in this process. */
  exclusive<R>(name: string, fn: () => Promise<R>): Promise<R> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    const tail = next.catch(() => {});
    this.locks.set(name, tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return next;
  }

  /** Starts and loads the pools a configuration needs that are not already running (the green side). */
  async prepare(name: string, variants: StoredVariant[]): Promise<PreparedVariants> {
    const current = this.live.get(name);
    const reusable = new Set(current?.variants.map((v) => v.poolKey));
    const started = new Map<string, VariantRunner | MultiModelPool>();
    try {
      await Promise.all(
        variants.map(async (v) => {
          const key = poolKey(v);
          if (reusable.has(key)) return;
          if (v.multiModel) {
            const metrics = this.deps.metrics.forVariant(name, v.name);
            const { models, artifacts, logger, outbound } = this.deps;
            const packagesDir = this.deps.multiModelDir ?? path.join(os.tmpdir(), 'capstan-multi-model');
            started.set(key, new MultiModelPool({ endpoint: name, variant: { ...v, multiModel: v.multiModel }, models, artifacts, packagesDir, logger, metrics: this.deps.metrics.multiModel, outbound, onRestart: () => metrics.workerRestarts.inc() }));
            return;
          }
          const pool = await buildVariantRunner(this.deps, v, this.deps.metrics.forVariant(name, v.name));
          started.set(key, pool);
          await pool.start();
        }),
      );
    } catch (err) {
      await Promise.all([...started.values()].map((p) => p.close()));
      throw err;
    }
    return { variants, started };
  }

  /** Discards pools started by `prepare` when the change is abandoned. */
  async discard(prepared: PreparedVariants): Promise<void> {
    await Promise.all([...prepared.started.values()].map((p) => p.close()));
  }

  /** Switches traffic to a configuration whose pools are prepared, then drains what it no longer uses. */
  async activate(record: Endpoint, prepared: PreparedVariants): Promise<void> {
    await this.exclusive(record.name, () => this.applyUnlocked(record, prepared));
  }

  private async applyUnlocked(record: Endpoint, prepared: PreparedVariants): Promise<void> {
    if (this.closed) {
      await this.discard(prepared);
      return;
    }
    const current = this.live.get(record.name);
    const oldByKey = new Map(current?.variants.map((v) => [v.poolKey, v]));
    const variants: LiveVariant[] = prepared.variants.map((v) => {
      const key = poolKey(v);
      const pool = prepared.started.get(key) ?? oldByKey.get(key)?.pool;
      if (!pool) throw new CapstanError('CAPSTAN_INTERNAL', `variant ${v.name} has no prepared workers`);
      const metrics = this.deps.metrics.forVariant(record.name, v.name);
      metrics.workers.set(pool.size);
      return { name: v.name, weight: v.weight, config: v, pool, metrics, stats: this.deps.stats.forVariant(record.name, v.name), poolKey: key };
    });
    const captureKey = JSON.stringify(record.dataCapture);
    const capture =
      current && current.captureKey === captureKey
        ? current.capture
        : record.dataCapture.enabled
          ? new DataCaptureWriter(record.name, record.dataCapture, this.deps.artifacts, this.deps.logger, (n) => this.deps.metrics.captured.labels({ endpoint: record.name }).inc(n))
          : undefined;
    this.live.set(record.name, {
      name: record.name,
      generation: record.generation,
      policy: createTrafficPolicy(record.trafficPolicy, variants.filter((v) => !v.config.shadowPercent)),
      shadows: variants.filter((v) => v.config.shadowPercent),
      variants,
      byName: new Map(variants.map((v) => [v.name, v])),
      hasMultiModel: variants.some((v) => v.pool instanceof MultiModelPool),
      capture,
      captureKey,
    });
    this.missing.delete(record.name);
    if (current) await this.retire(current, variants);
  }

  /** Drains the pools and capture writer of an old generation that the new one does not use. */
  private async retire(old: LiveEndpoint, keep: readonly LiveVariant[]): Promise<void> {
    const kept = new Set(keep.map((v) => v.pool));
    const keptNames = new Set(keep.map((v) => v.name));
    const drains: Promise<void>[] = [];
    for (const v of old.variants) {
      if (kept.has(v.pool)) continue;
      if (!keptNames.has(v.name)) {
        this.deps.metrics.forget(old.name, v.name);
        if (v.pool instanceof MultiModelPool) this.deps.metrics.multiModel.forgetVariant(old.name, v.name);
      }
      drains.push(v.pool.drain(this.deps.drainMs ?? 30_000));
    }
    if (old.capture && old.capture !== this.live.get(old.name)?.capture) drains.push(old.capture.flush());
    await Promise.all(drains);
    // After the drain, so the requests that finished while draining are still counted.
    for (const v of old.variants) if (!keptNames.has(v.name) && !this.live.get(old.name)?.byName.has(v.name)) this.deps.stats.forget(old.name, v.name);
  }

  /** Stops serving an endpoint here: in-flight requests finish, then its workers stop. */
  async remove(name: string): Promise<void> {
    await this.exclusive(name, async () => {
      const current = this.live.get(name);
      this.live.delete(name);
      if (current) await this.retire(current, []);
    });
  }

  /** Reconciles with the database: reloads endpoints whose generation moved, drops deleted ones. */
  async sync(): Promise<void> {
    const rows = new Map((await this.deps.store.versions()).map((r) => [r.name, r]));
    for (const [name, ep] of this.live) {
      const row = rows.get(name);
      if (!row) {
        await this.remove(name);
        continue;
      }
      if (row.generation === ep.generation || (row.status !== 'InService' && row.status !== 'Updating')) continue;
      try {
        const record = await this.deps.store.get(name);
        const prepared = await this.prepare(name, record.variants);
        await this.exclusive(name, async () => {
          // Another path (an update through this process) may have applied a newer generation meanwhile.
          if ((this.live.get(name)?.generation ?? 0) >= record.generation) return this.discard(prepared);
          return this.applyUnlocked(record, prepared);
        });
      } catch (err) {
        this.deps.logger.error({ err, endpoint: name }, 'could not apply the new endpoint configuration; still serving the previous one');
      }
    }
  }

  /** Loads every endpoint that is in service (a server's start-up). */
  async loadAll(): Promise<void> {
    for (const row of await this.deps.store.versions()) {
      if (row.status !== 'InService' && row.status !== 'Updating') continue;
      await this.ensure(row.name).catch((err) => this.deps.logger.error({ err, endpoint: row.name }, 'endpoint failed to load'));
    }
  }

  /** What this process does for each variant of an endpoint, by variant name. */
  liveState(name: string): Map<string, LiveVariantState> {
    const ep = this.live.get(name);
    const out = new Map<string, LiveVariantState>();
    if (!ep) return out;
    const shares = ep.policy.shares();
    for (const v of ep.variants) {
      const scaling = v.pool instanceof MultiModelPool ? undefined : v.pool.scaling;
      out.set(v.name, { trafficPercent: Math.round((shares.get(v.name) ?? 0) * 100) / 100, workers: v.pool.size, inFlight: v.pool.inFlight, workerRestarts: v.pool.restarts, ...(scaling ? { scaling } : {}) });
    }
    return out;
  }

  /** What each multi-model variant of an endpoint has loaded in this process. */
  multiModelState(name: string): MultiModelVariantState[] {
    const ep = this.live.get(name);
    return ep ? ep.variants.flatMap((v) => (v.pool instanceof MultiModelPool ? [v.pool.state()] : [])) : [];
  }

  /**
   * What the Open Inference Protocol's model metadata shows: the versions served and the signature
   * of the target variant, else of the first variant with traffic.
   */
  async modelMetadata(name: string, targetVariant?: string): Promise<{ name: string; versions: string[]; framework: string; version: string; signature: LiveVariant['pool']['signature'] }> {
    const ep = await this.ensure(name);
    const variant = (targetVariant !== undefined ? ep.byName.get(targetVariant) : undefined) ?? ep.variants.find((v) => v.weight > 0) ?? ep.variants[0];
    return {
      name: ep.name,
      versions: [...new Set(ep.variants.map((v) => String(v.config.resolved.version)))],
      framework: variant.config.resolved.framework,
      version: String(variant.config.resolved.version),
      signature: variant.pool.signature,
    };
  }

  /** Routes one invocation to a variant and answers it; counts it in the variant's metrics. */
  async invoke(name: string, input: InvocationInput): Promise<InvocationOutput> {
    const startedAt = input.startedAt ?? performance.now();
    const ep = this.live.get(name) ?? (await this.ensure(name));
    const key = input.stickyKey ?? (ep.policy.routingKey ? ep.policy.routingKey(bodyText(input.body)) : undefined);
    const traffic = key === input.stickyKey ? input : { stickyKey: key };
    const variant = input.targetModel === undefined && !ep.hasMultiModel ? pickVariant(ep, input.targetVariant, traffic) : pickVariantForModel(ep, input.targetVariant, traffic, input.targetModel, pickVariant);
    const m = variant.metrics;
    m.invocations.inc();
    try {
      const body = variant.config.features ? await this.enrich(input.body, variant.config.features) : input.body;
      const pool = variant.pool;
      const result: WorkerResult & { model?: string } =
        pool instanceof MultiModelPool && input.targetModel !== undefined ? await pool.invokeModel(input.targetModel, body, input.contentType, input.customAttributes, input.accept) : await pool.invoke(body, input.contentType, input.customAttributes, input.accept);
      const totalMs = performance.now() - startedAt;
      m.modelLatency.observe(result.modelMs / 1000);
      m.overheadLatency.observe(Math.max(0, totalMs - result.modelMs) / 1000);
      variant.stats.record(totalMs, Outcome.Ok);
      if (ep.capture && ep.capture.sample()) {
        ep.capture.add({ variant: variant.name, inferenceId: input.inferenceId, requestContentType: input.contentType, request: body, responseContentType: result.contentType, response: result.body, status: 200 });
        const traces = (result as PipelineResult).stages;
        if (traces) for (const t of traces) ep.capture.add({ variant: variant.name, inferenceId: input.inferenceId, status: 200, ...t });
      }
      for (const l of this.invocationListeners) l({ endpoint: name, variant: variant.name, inferenceId: input.inferenceId, body: result.body });
      if (ep.shadows.length > 0) mirrorToShadows(ep, input, { variant: variant.name, body: result.body, contentType: result.contentType, latencyMs: totalMs }, this.deps.logger);
      return { variant: variant.name, body: result.body, contentType: result.contentType, ...(result.model !== undefined ? { model: result.model } : {}) };
    } catch (err) {
      countError(m, err);
      variant.stats.record(performance.now() - startedAt, outcomeOf(err));
      throw withVariant(err, variant.name);
    }
  }

  /** Adds a variant's online feature values to the request body (in-process feature service). */
  private async enrich(body: InvocationBody, spec: VariantFeatures): Promise<string> {
    if (!this.deps.features) throw new CapstanError('CAPSTAN_CONFIG_CONTEXT_MISSING', 'the variant adds feature values but no feature store is installed');
    const features = this.deps.features();
    return enrichBody(bodyText(body), spec, features, async (ref) => (await features.getGroup(parseFeatureRef(ref).group, parseFeatureRef(ref).version)).joinKeys.map((k) => k.name));
  }

  /** Runs tensors through an endpoint's model (Open Inference Protocol). */
  async infer(name: string, inputs: Tensors, targetVariant?: string, traffic: TrafficContext = NO_CONTEXT): Promise<{ variant: LiveVariant; outputs: Tensors }> {
    const startedAt = performance.now();
    const ep = this.live.get(name) ?? (await this.ensure(name));
    const variant = pickVariant(ep, targetVariant, traffic);
    const m = variant.metrics;
    m.invocations.inc();
    try {
      const result = await variant.pool.infer(inputs);
      const totalMs = performance.now() - startedAt;
      m.modelLatency.observe(result.modelMs / 1000);
      m.overheadLatency.observe(Math.max(0, totalMs - result.modelMs) / 1000);
      variant.stats.record(totalMs, Outcome.Ok);
      return { variant, outputs: result.outputs };
    } catch (err) {
      countError(m, err);
      variant.stats.record(performance.now() - startedAt, outcomeOf(err));
      throw withVariant(err, variant.name);
    }
  }

  /** Stops every endpoint here, letting in-flight requests finish first. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.live.keys()].map((n) => this.remove(n)));
  }
}

function notFound(name: string): CapstanError {
  return new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_FOUND', `no endpoint ${name}`, { fields: { endpoint: name } });
}

const NO_CONTEXT: TrafficContext = {};

/** The target variant a request names (an override every policy honours), else the policy's choice. */
export function pickVariant(ep: LiveEndpoint, target: string | undefined, traffic: TrafficContext): LiveVariant {
  if (target === undefined) return ep.policy.choose(traffic);
  const v = ep.byName.get(target);
  if (!v) {
    throw new CapstanError('CAPSTAN_SERVING_VARIANT_NOT_FOUND', `endpoint ${ep.name} has no variant ${target}; it has ${ep.variants.map((x) => x.name).join(', ')}`, { fields: { endpoint: ep.name, variant: target } });
  }
  return v;
}

function countError(m: VariantMetrics, err: unknown): void {
  const status = isCapstanError(err) ? err.status : 500;
  if (status >= 500) m.errors5xx.inc();
  else m.errors4xx.inc();
}

function withVariant(err: unknown, variant: string): unknown {
  // The invoked-variant header belongs on errors too, so a client can tell which model refused it.
  if (isCapstanError(err)) return new CapstanError(err.code, err.message, { cause: err.cause, fields: err.fields, headers: { ...err.headers, 'X-Capstan-Invoked-Variant': variant } });
  return err;
}
