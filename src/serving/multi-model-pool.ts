import type { InvocationBody } from './invocation-body.js';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CapstanError, errorCatalogue, isCapstanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { readManifest, type TensorSpec } from '../core/model-manifest.js';
import type { OutboundSettings } from '../core/outbound-guard.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { StoredVariant } from './endpoint.js';
import { ModelCache } from './model-cache.js';
import type { ModelSource } from './model-source.js';
import type { WorkerResult } from './model-worker.js';
import { parseMultiModelSource, type MultiModelConfig, type MultiModelSource } from './multi-model-config.js';
import type { ModelMetrics, MultiModelMetrics, MultiModelVariantMetrics } from './multi-model-metrics.js';
import type { MultiModelVariantState } from './multi-model-state.js';
import type { Tensors } from './runtimes/tensors.js';
import { VariantPool } from './variant-pool.js';

/** What a multi-model variant needs from the host. */
export interface MultiModelPoolDeps {
  endpoint: string;
  variant: StoredVariant & { multiModel: MultiModelConfig };
  models: ModelSource;
  artifacts: ArtifactStore;
  /** Where packages from an artifact prefix are unpacked. */
  packagesDir: string;
  logger: Logger;
  metrics: MultiModelMetrics;
  outbound: OutboundSettings;
  onRestart?: () => void;
}

/** A target resolved to what the cache stores it under. */
interface Target {
  /** Cache key: `ncf/3` for a registry version (an alias resolves to it), the folder name for a prefix. */
  key: string;
  /** The local directory holding the package, fetched on demand. */
  fetch(): Promise<string>;
}

/** One loaded model. */
interface LoadedModel {
  pool: VariantPool;
  metrics: ModelMetrics;
  invocations: number;
  errors: number;
}

const RESOLVE_TTL_MS = 5000;
const ARTIFACT_TARGET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const REGISTRY_TARGET = /^([a-z0-9][a-z0-9._-]{0,62})(?:\/(\d+)|@([A-Za-z0-9][A-Za-z0-9._-]{0,62}))$/;
const COMPLETE_MARKER = '.capstan-complete';

function directoryBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) n += directoryBytes(full);
    else if (e.isFile()) n += statSync(full).size;
  }
  return n;
}

/**
 * The models of one multi-model variant: resolves a request's target model, loads it on first use
 * (one load for concurrent first requests), keeps it in an LRU cache under the variant's byte budget
 * and answers through its own pool of workers. A model that fails to load answers an error naming the
 * target (never a path) for `failedRetryMs`; the other models are untouched.
 */
export class MultiModelPool {
  private readonly source: MultiModelSource;
  private readonly config: MultiModelConfig;
  private readonly cache: ModelCache<LoadedModel>;
  private readonly variantMetrics: MultiModelVariantMetrics;
  private readonly resolved = new Map<string, { key: string; until: number; target: Target }>();
  private closed = false;

  constructor(private readonly deps: MultiModelPoolDeps) {
    this.config = deps.variant.multiModel;
    this.source = parseMultiModelSource(this.config.source)!;
    this.variantMetrics = deps.metrics.forVariant(deps.endpoint, deps.variant.name);
    this.cache = new ModelCache<LoadedModel>({
      budgetBytes: this.config.memoryBudgetBytes,
      maxEntries: this.config.maxModels,
      loadWaitMs: this.config.loadWaitMs,
      failedRetryMs: this.config.failedRetryMs,
      unload: (key, model) => {
        this.variantMetrics.evictions.inc();
        deps.metrics.forgetModel(deps.endpoint, deps.variant.name, key);
        deps.logger.info({ endpoint: deps.endpoint, variant: deps.variant.name, model: key }, 'multi-model variant unloaded a model');
        void model.pool.drain(deps.variant.timeoutMs).catch((err) => deps.logger.warn({ err, model: key }, 'an unloaded model did not stop cleanly'));
      },
      changed: () => this.updateGauges(),
      notReady: (key, retryAfter) =>
        new CapstanError('CAPSTAN_SERVING_MODEL_NOT_READY', `target model ${key} of endpoint ${deps.endpoint} is loading; retry in ${retryAfter} s`, {
          fields: { endpoint: deps.endpoint, variant: deps.variant.name, targetModel: key, retryAfterSeconds: retryAfter },
        }),
    });
  }

  /** Nothing loads up front: models load on their first request. */
  async start(): Promise<void> {}

  /** Worker threads of the resident models. */
  get size(): number {
    let n = 0;
    for (const e of this.cache.entries()) n += e.value.pool.size;
    return n;
  }

  /** Requests in flight across the resident models. */
  get inFlight(): number {
    let n = 0;
    for (const e of this.cache.entries()) n += e.value.pool.inFlight;
    return n;
  }

  /** Worker replacements across the resident models. */
  get restarts(): number {
    let n = 0;
    for (const e of this.cache.entries()) n += e.value.pool.restarts;
    return n;
  }

  /** A multi-model variant has no single signature; each target model has its own. */
  get signature(): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
    return { inputs: [], outputs: [] };
  }

  /** A request without a target model: refused, naming the header it needs. */
  invoke(): Promise<WorkerResult> {
    return Promise.reject(this.targetRequired());
  }

  /** Tensors without a target model: refused the same way (the Open Inference Protocol has no target model). */
  infer(_inputs: Tensors): Promise<{ outputs: Tensors; modelMs: number }> {
    return Promise.reject(this.targetRequired());
  }

  /** Answers one invocation with the target model, loading it first when it is not resident. */
  async invokeModel(target: string, body: InvocationBody, contentType: string, customAttributes?: string, accept?: string): Promise<WorkerResult & { model: string }> {
    const t = await this.resolveTarget(target);
    let lease;
    try {
      lease = await this.cache.acquire(t.key, () => this.load(t));
    } catch (err) {
      this.variantMetrics.misses.inc();
      if (isCapstanError(err, 'CAPSTAN_SERVING_MODEL_NOT_READY')) this.variantMetrics.notReady.inc();
      throw err;
    }
    (lease.hit ? this.variantMetrics.hits : this.variantMetrics.misses).inc();
    const model = lease.value;
    const startedAt = performance.now();
    model.invocations++;
    model.metrics.invocations.inc();
    try {
      const out = await model.pool.invoke(body, contentType, customAttributes, accept);
      model.metrics.latency.observe((performance.now() - startedAt) / 1000);
      return { ...out, model: t.key };
    } catch (err) {
      model.errors++;
      model.metrics.errors.inc();
      throw err;
    } finally {
      lease.release();
    }
  }

  /** What is resident and loading, for `capstan endpoints models`. */
  state(): MultiModelVariantState {
    return {
      variant: this.deps.variant.name,
      source: this.config.source,
      memoryBudgetBytes: this.config.memoryBudgetBytes,
      maxModels: this.config.maxModels,
      residentBytes: this.cache.residentBytes,
      loading: this.cache.loadingKeys(),
      ...this.cache.counters,
      models: this.cache.entries().map((e) => ({
        model: e.key,
        bytes: e.bytes,
        loadMs: Math.round(e.loadMs * 10) / 10,
        loadedAt: new Date(e.loadedAt).toISOString(),
        lastUsedAt: new Date(e.lastUsedAt).toISOString(),
        hits: e.hits,
        invocations: e.value.invocations,
        errors: e.value.errors,
        inFlight: e.value.pool.inFlight,
      })),
    };
  }

  /** Lets in-flight requests finish, then stops every resident model. */
  async drain(graceMs = this.deps.variant.timeoutMs): Promise<void> {
    this.closed = true;
    await Promise.all(this.release().map((m) => m.pool.drain(graceMs)));
  }

  /** Stops every resident model now. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.release().map((m) => m.pool.close()));
  }

  private release(): LoadedModel[] {
    for (const e of this.cache.entries()) this.deps.metrics.forgetModel(this.deps.endpoint, this.deps.variant.name, e.key);
    return this.cache.clear();
  }

  private targetRequired(): CapstanError {
    const example = this.source.kind === 'registry' ? `${this.source.group}/1 or ${this.source.group}@champion` : 'the name of a folder under the prefix';
    return new CapstanError(
      'CAPSTAN_SERVING_TARGET_MODEL_REQUIRED',
      `variant ${this.deps.variant.name} of endpoint ${this.deps.endpoint} hosts many models (${this.config.source}); name one with X-Capstan-Target-Model, e.g. ${example}`,
      { fields: { endpoint: this.deps.endpoint, variant: this.deps.variant.name } },
    );
  }

  private notFound(target: string, why: string): CapstanError {
    return new CapstanError('CAPSTAN_SERVING_TARGET_MODEL_NOT_FOUND', `endpoint ${this.deps.endpoint} hosts no target model ${target}: ${why}`, {
      fields: { endpoint: this.deps.endpoint, variant: this.deps.variant.name, targetModel: target },
    });
  }

  /** The cache key and package of a target; resolutions are kept a few seconds so an alias costs no lookup per request. */
  private async resolveTarget(target: string): Promise<Target> {
    const cached = this.resolved.get(target);
    if (cached && cached.until > Date.now()) return cached.target;
    const t = this.source.kind === 'registry' ? await this.resolveRegistry(target, this.source.group) : await this.resolveArtifacts(target, this.source.prefix);
    if (this.resolved.size > 10_000) this.resolved.clear();
    this.resolved.set(target, { key: t.key, until: Date.now() + RESOLVE_TTL_MS, target: t });
    return t;
  }

  private async resolveRegistry(target: string, group: string): Promise<Target> {
    const m = REGISTRY_TARGET.exec(target);
    if (!m) throw this.notFound(target, `targets of this variant are ${group}/<version> or ${group}@<alias>`);
    if (m[1] !== group) throw this.notFound(target, `this variant serves model group ${group} only`);
    let resolved;
    try {
      resolved = await this.deps.models.resolve(`models:/${target}`);
    } catch (err) {
      if (isCapstanError(err, 'CAPSTAN_SERVING_MODEL_REF_UNRESOLVED')) throw this.notFound(target, `model group ${group} has no such version or alias`);
      throw err;
    }
    const approval = await this.deps.models.approval(resolved);
    if (approval !== 'Approved') {
      throw new CapstanError('CAPSTAN_SERVING_MODEL_NOT_APPROVED', `target model ${target} (${resolved.name}/${resolved.version}) is ${approval}; a multi-model variant serves Approved versions only`, {
        fields: { endpoint: this.deps.endpoint, modelName: resolved.name, version: resolved.version, approval },
      });
    }
    return { key: `${resolved.name}/${resolved.version}`, fetch: () => this.deps.models.localPackage(resolved) };
  }

  private async resolveArtifacts(target: string, prefix: string): Promise<Target> {
    if (!ARTIFACT_TARGET.test(target)) throw this.notFound(target, 'targets of this variant are folder names under its prefix');
    const files = await this.deps.artifacts.list(`${prefix}/${target}/`);
    if (files.length === 0) throw this.notFound(target, `there is no model package ${target} under ${this.config.source}`);
    const digest = createHash('sha256')
      .update(files.map((f) => `${f.key}:${f.sha256}`).join('\n'))
      .digest('hex')
      .slice(0, 16);
    return { key: target, fetch: () => this.fetchArtifacts(prefix, target, digest) };
  }

  /** Unpacks a prefix's package into a directory of its own, renamed into place when complete. */
  private async fetchArtifacts(prefix: string, target: string, digest: string): Promise<string> {
    const base = path.join(this.deps.packagesDir, createHash('sha256').update(prefix).digest('hex').slice(0, 16));
    const dir = path.join(base, `${target}-${digest}`);
    if (existsSync(path.join(dir, COMPLETE_MARKER))) return dir;
    const staging = `${dir}.staging-${process.pid}-${randomBytes(4).toString('hex')}`;
    mkdirSync(base, { recursive: true });
    try {
      await this.deps.artifacts.downloadDirectory(`${prefix}/${target}`, staging);
      writeFileSync(path.join(staging, COMPLETE_MARKER), digest);
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    return dir;
  }

  /** Fetches the package and measures it (the cache makes room), then starts its workers. */
  private async load(t: Target): Promise<{ bytes: number; start(): Promise<LoadedModel> }> {
    const { endpoint, variant: v, logger } = this.deps;
    const startedAt = performance.now();
    let dir: string;
    try {
      dir = await t.fetch();
    } catch (err) {
      throw this.loadFailed(t.key, err);
    }
    return {
      bytes: directoryBytes(dir),
      start: async () => {
        let pool: VariantPool | undefined;
        try {
          const manifest = readManifest(dir);
          pool = new VariantPool(
            {
              dir,
              manifest,
              options: {
                intraOpThreads: v.intraOpThreads,
                interOpThreads: v.interOpThreads,
                batching: v.batching,
                handlerOptions: v.handlerOptions,
                outbound: this.deps.outbound,
                ...(v.url ? { url: v.url } : {}),
                ...(v.interpreter ? { interpreter: v.interpreter } : {}),
              },
            },
            { instances: v.instances, timeoutMs: v.timeoutMs, logger, onRestart: this.deps.onRestart },
          );
          await pool.start();
        } catch (err) {
          throw this.loadFailed(t.key, err);
        }
        if (this.closed) {
          await pool.close();
          throw new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY', `variant ${v.name} of endpoint ${endpoint} was replaced while target model ${t.key} loaded`, { fields: { endpoint } });
        }
        const seconds = (performance.now() - startedAt) / 1000;
        this.variantMetrics.loads.inc();
        this.variantMetrics.loadTime.observe(seconds);
        logger.info({ endpoint, variant: v.name, model: t.key, loadMs: Math.round(seconds * 1000) }, 'multi-model variant loaded a model');
        return { pool, metrics: this.deps.metrics.forModel(endpoint, v.name, t.key), invocations: 0, errors: 0 };
      },
    };
  }

  private loadFailed(target: string, err: unknown): CapstanError {
    this.variantMetrics.loadFailures.inc();
    this.deps.logger.warn({ err, endpoint: this.deps.endpoint, variant: this.deps.variant.name, model: target }, 'a target model failed to load');
    // The message names the model and the catalogue's reason, never the package's local path.
    const reason = isCapstanError(err) ? `${err.code}: ${errorCatalogue[err.code].title}` : 'internal error';
    return new CapstanError('CAPSTAN_SERVING_MODEL_LOAD_FAILED', `target model ${target} of endpoint ${this.deps.endpoint} did not load (${reason}); the endpoint's other models keep serving`, {
      cause: err,
      fields: { endpoint: this.deps.endpoint, variant: this.deps.variant.name, targetModel: target },
    });
  }

  private updateGauges(): void {
    const entries = this.cache.entries();
    this.variantMetrics.residentModels.set(entries.length);
    this.variantMetrics.residentBytes.set(this.cache.residentBytes);
  }
}
