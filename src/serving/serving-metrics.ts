import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { PlainCounter, PlainHistogram } from '../core/plain-metrics.js';
import { MultiModelMetrics } from './multi-model-metrics.js';

type Labels = 'endpoint' | 'variant';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The counters of one variant, bound to its labels once; the per-request ones are plain additions (plain-metrics). */
export interface VariantMetrics {
  invocations: { inc(): void };
  errors4xx: { inc(): void };
  errors5xx: { inc(): void };
  modelLatency: { observe(seconds: number): void };
  overheadLatency: { observe(seconds: number): void };
  workerRestarts: { inc(): void };
  workers: { set(n: number): void };
  /** Time from zero workers to a loaded one (autoscaled variants with min 0). */
  coldStart: { observe(seconds: number): void };
}

/**
 * Prometheus metrics per endpoint and variant (SageMaker's CloudWatch set): invocations, 4xx and 5xx
 * errors, model latency (time in the model) and overhead latency (everything else the gateway adds),
 * worker restarts and live workers. Registered once per platform registry.
 */
export class ServingMetrics {
  private readonly invocations: PlainCounter<Labels>;
  private readonly errors4xx: PlainCounter<Labels>;
  private readonly errors5xx: PlainCounter<Labels>;
  private readonly modelLatency: PlainHistogram<Labels>;
  private readonly overheadLatency: PlainHistogram<Labels>;
  private readonly restarts: Counter<Labels>;
  private readonly workers: Gauge<Labels>;
  private readonly coldStart: Histogram<Labels>;
  /** Data capture records written, by endpoint. */
  readonly captured: Counter<'endpoint'>;
  /** Cache and per-model metrics of multi-model variants. */
  readonly multiModel: MultiModelMetrics;

  constructor(registry: Registry) {
    const labelNames: Labels[] = ['endpoint', 'variant'];
    const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
    this.invocations = PlainCounter.on(registry, { name: 'capstan_endpoint_invocations_total', help: 'Requests sent to a variant', labelNames });
    this.errors4xx = PlainCounter.on(registry, { name: 'capstan_endpoint_invocation_4xx_errors_total', help: 'Invocations answered with a 4xx status', labelNames });
    this.errors5xx = PlainCounter.on(registry, { name: 'capstan_endpoint_invocation_5xx_errors_total', help: 'Invocations answered with a 5xx status', labelNames });
    this.modelLatency = PlainHistogram.on(registry, { name: 'capstan_endpoint_model_latency_seconds', help: 'Time the model took (inside the worker), per request', labelNames, buckets: LATENCY_BUCKETS });
    this.overheadLatency = PlainHistogram.on(registry, { name: 'capstan_endpoint_overhead_latency_seconds', help: 'Time the gateway added around the model (routing, queueing, thread hand-off, handler)', labelNames, buckets: LATENCY_BUCKETS });
    this.restarts = get('capstan_endpoint_worker_restarts_total', () => new Counter({ name: 'capstan_endpoint_worker_restarts_total', help: 'Model workers replaced after a crash or a hang', labelNames, registers: [registry] }));
    this.workers = get('capstan_endpoint_workers', () => new Gauge({ name: 'capstan_endpoint_workers', help: 'Model worker threads serving a variant in this process', labelNames, registers: [registry] }));
    this.coldStart = get('capstan_endpoint_cold_start_seconds', () => new Histogram({ name: 'capstan_endpoint_cold_start_seconds', help: 'Time a variant scaled to zero took to load a worker for the requests waiting on it', labelNames, buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers: [registry] }));
    this.captured = get('capstan_endpoint_data_capture_records_total', () => new Counter({ name: 'capstan_endpoint_data_capture_records_total', help: 'Request/response pairs written by data capture', labelNames: ['endpoint'], registers: [registry] }));
    this.multiModel = new MultiModelMetrics(registry);
  }

  /** The metrics of one variant, with labels bound. */
  forVariant(endpoint: string, variant: string): VariantMetrics {
    const l = { endpoint, variant };
    return {
      invocations: this.invocations.labels(l),
      errors4xx: this.errors4xx.labels(l),
      errors5xx: this.errors5xx.labels(l),
      modelLatency: this.modelLatency.labels(l),
      overheadLatency: this.overheadLatency.labels(l),
      workerRestarts: this.restarts.labels(l),
      workers: this.workers.labels(l),
      coldStart: this.coldStart.labels(l),
    };
  }

  /** Drops a removed variant's live-worker gauge (counters stay, as Prometheus expects). */
  forget(endpoint: string, variant: string): void {
    this.workers.remove({ endpoint, variant });
  }
}
