import type { DataCaptureWriter } from './data-capture.js';
import type { StoredVariant } from './endpoint.js';
import type { InvocationBody } from './invocation-body.js';
import type { MultiModelPool } from './multi-model-pool.js';
import type { VariantMetrics } from './serving-metrics.js';
import type { TrafficPolicy } from './traffic-policy.js';
import type { VariantRunner } from './variant-runner.js';
import type { VariantStatsCounter } from './variant-stats-recorder.js';

/** One variant being served: its pool of workers, bound metrics and weight in this generation. */
export interface LiveVariant {
  readonly name: string;
  readonly weight: number;
  readonly config: StoredVariant;
  /** The variant's workers: one model's pool, a pipeline of stage pools, or a multi-model pool that loads its models on demand. */
  readonly pool: VariantRunner | MultiModelPool;
  readonly metrics: VariantMetrics;
  /** This process's counts for the shared per-variant statistics. */
  readonly stats: VariantStatsCounter;
  /** Identity of the pool: a variant whose key is unchanged keeps its workers across updates. */
  readonly poolKey: string;
}

/** One endpoint being served in this process. */
export interface LiveEndpoint {
  readonly name: string;
  readonly generation: number;
  /** Chooses the variant of each request that names no target variant. */
  readonly policy: TrafficPolicy<LiveVariant>;
  readonly variants: readonly LiveVariant[];
  readonly byName: ReadonlyMap<string, LiveVariant>;
  readonly capture: DataCaptureWriter | undefined;
  readonly captureKey: string;
  /** Variants that only receive mirrored copies of requests (`shadowPercent`). */
  readonly shadows: readonly LiveVariant[];
  /** Whether any variant is multi-model (requests then route by target model too). */
  readonly hasMultiModel: boolean;
}

/** An invocation as the gateway received it. */
export interface InvocationInput {
  /** The bytes the client sent (HTTP) or an in-process caller's text; passed to the model untouched. */
  body: InvocationBody;
  contentType: string;
  /** The media type the client wants back (`Accept`); Python models pass it to output_fn. */
  accept?: string;
  targetVariant?: string;
  /** The model of a multi-model variant (`X-Capstan-Target-Model`). */
  targetModel?: string;
  /** A caller's stable key (user or session id) for policies that keep a caller on one variant. */
  stickyKey?: string;
  inferenceId?: string;
  customAttributes?: string;
  /** `performance.now()` when the request arrived, for the overhead histogram; default: now. */
  startedAt?: number;
  /** Schedules work that must wait until the caller's answer is sent (shadow copies), e.g. on the response's 'finish'; default: a later turn of the event loop. */
  afterAnswer?: (work: () => void) => void;
}

/** The answer to an invocation and the variant that produced it. */
export interface InvocationOutput {
  variant: string;
  /** The model that answered, on a multi-model variant. */
  model?: string;
  body: InvocationBody;
  contentType: string;
}
