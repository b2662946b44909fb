import { Gauge, type Registry } from 'prom-client';
import { PlainCounter, PlainHistogram } from '../core/plain-metrics.js';

type VariantLabels = 'endpoint' | 'variant';
type ModelLabels = 'endpoint' | 'variant' | 'model';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const LOAD_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The metrics of one resident model, labels bound once. */
export interface ModelMetrics {
  invocations: { inc(): void };
  errors: { inc(): void };
  latency: { observe(seconds: number): void };
}

/** The cache metrics of one multi-model variant, labels bound once. */
export interface MultiModelVariantMetrics {
  hits: { inc(): void };
  misses: { inc(): void };
  loads: { inc(): void };
  loadFailures: { inc(): void };
  evictions: { inc(): void };
  notReady: { inc(): void };
  loadTime: { observe(seconds: number): void };
  residentModels: { set(n: number): void };
  residentBytes: { set(n: number): void };
}

/**
 * Prometheus metrics of multi-model variants. Cache figures are labelled by endpoint and variant only;
 * the per-model series (invocations, errors, latency) carry a `model` label and exist only while the
 * model is resident — they are removed when it is evicted — so their number is bounded by the variants'
 * `maxModels`, not by how many models a registry group or prefix holds. Counters and histograms count
 * in plain numbers (`core/plain-metrics`): each hit counts the cache, the invocation and its latency,
 * and prom-client would rebuild and hash the labels for each of the three. A request still in flight
 * on a model being evicted counts into its removed series, which no scrape shows again.
 */
export class MultiModelMetrics {
  private readonly invocations: PlainCounter<ModelLabels>;
  private readonly errors: PlainCounter<ModelLabels>;
  private readonly latency: PlainHistogram<ModelLabels>;
  private readonly hits: PlainCounter<VariantLabels>;
  private readonly misses: PlainCounter<VariantLabels>;
  private readonly loads: PlainCounter<VariantLabels>;
  private readonly loadFailures: PlainCounter<VariantLabels>;
  private readonly evictions: PlainCounter<VariantLabels>;
  private readonly notReady: PlainCounter<VariantLabels>;
  private readonly loadTime: PlainHistogram<VariantLabels>;
  private readonly residentModels: Gauge<VariantLabels>;
  private readonly residentBytes: Gauge<VariantLabels>;

  constructor(registry: Registry) {
    const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
    const v: VariantLabels[] = ['endpoint', 'variant'];
    const m: ModelLabels[] = ['endpoint', 'variant', 'model'];
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => PlainCounter.on(registry, { name, help, labelNames });
    this.invocations = counter('capstan_endpoint_model_invocations_total', 'Requests answered by a resident model of a multi-model variant (series removed on eviction)', m);
    this.errors = counter('capstan_endpoint_model_errors_total', 'Requests a resident model of a multi-model variant answered with an error (series removed on eviction)', m);
    this.latency = PlainHistogram.on(registry, { name: 'capstan_endpoint_model_request_latency_seconds', help: 'Time a resident model of a multi-model variant took per request (series removed on eviction)', labelNames: m, buckets: LATENCY_BUCKETS });
    this.hits = counter('capstan_endpoint_model_cache_hits_total', 'Multi-model requests whose model was resident', v);
    this.misses = counter('capstan_endpoint_model_cache_misses_total', 'Multi-model requests whose model had to be loaded (or was loading)', v);
    this.loads = counter('capstan_endpoint_model_loads_total', 'Models a multi-model variant loaded', v);
    this.loadFailures = counter('capstan_endpoint_model_load_failures_total', 'Model loads of a multi-model variant that failed', v);
    this.evictions = counter('capstan_endpoint_model_evictions_total', 'Models a multi-model variant unloaded to stay within its budget', v);
    this.notReady = counter('capstan_endpoint_model_not_ready_total', 'Multi-model requests answered 429 because their model was still loading', v);
    this.loadTime = PlainHistogram.on(registry, { name: 'capstan_endpoint_model_load_seconds', help: 'Time from a miss to a loaded model (fetch, session, workers)', labelNames: v, buckets: LOAD_BUCKETS });
    this.residentModels = get('capstan_endpoint_models_resident', () => new Gauge({ name: 'capstan_endpoint_models_resident', help: 'Models resident in a multi-model variant in this process', labelNames: v, registers: [registry] }));
    this.residentBytes = get('capstan_endpoint_models_resident_bytes', () => new Gauge({ name: 'capstan_endpoint_models_resident_bytes', help: 'Estimated bytes (package size) of the models resident in a multi-model variant', labelNames: v, registers: [registry] }));
  }

  /** The cache metrics of one variant. */
  forVariant(endpoint: string, variant: string): MultiModelVariantMetrics {
    const l = { endpoint, variant };
    return {
      hits: this.hits.labels(l),
      misses: this.misses.labels(l),
      loads: this.loads.labels(l),
      loadFailures: this.loadFailures.labels(l),
      evictions: this.evictions.labels(l),
      notReady: this.notReady.labels(l),
      loadTime: this.loadTime.labels(l),
      residentModels: this.residentModels.labels(l),
      residentBytes: this.residentBytes.labels(l),
    };
  }

  /** The series of one resident model. */
  forModel(endpoint: string, variant: string, model: string): ModelMetrics {
    const l = { endpoint, variant, model };
    return { invocations: this.invocations.labels(l), errors: this.errors.labels(l), latency: this.latency.labels(l) };
  }

  /** Removes an evicted model's series, keeping the label set bounded by the resident models. */
  forgetModel(endpoint: string, variant: string, model: string): void {
    const l = { endpoint, variant, model };
    this.invocations.remove(l);
    this.errors.remove(l);
    this.latency.remove(l);
  }

  /** Removes a stopped variant's gauges. */
  forgetVariant(endpoint: string, variant: string): void {
    this.residentModels.remove({ endpoint, variant });
    this.residentBytes.remove({ endpoint, variant });
  }
}
