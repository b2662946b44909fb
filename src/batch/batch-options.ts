import { CapstanError } from '../core/errors.js';
import { compileJsonPath } from './json-path.js';
import { compileNotification, type NotificationInput, type NotificationSettings } from './notification-settings.js';

/** Record formats a batch job reads (SageMaker's JSON Lines and CSV). */
export type BatchContentType = 'application/jsonlines' | 'text/csv';

/** A batch transform job as a caller writes it; `compileBatchJobOptions` fills the defaults. */
export interface BatchJobInput {
  /** Registered model: `ncf@champion`, `ncf/3`, `models:/ncf/3`. */
  model: string;
  /** An object or a prefix in the artifact store (`s3://bucket/in/` or `file:///…/in.jsonl`). */
  input: string;
  /** A prefix in the artifact store; each input file `x` gives `<output>/x.out`. */
  output: string;
  /** Default from the input's extension: `.csv` is `text/csv`, anything else `application/jsonlines`. */
  contentType?: BatchContentType;
  /** `Line` (default): each non-empty line is a record; `None`: each file is one record. */
  splitType?: 'Line' | 'None';
  /** `MultiRecord` (default): records up to `maxPayloadMb` go to the model together and share model calls; `SingleRecord`: one at a time. */
  strategy?: 'SingleRecord' | 'MultiRecord';
  /** Largest record, and largest mini-batch of records, in MiB; 1-100, default 6. */
  maxPayloadMb?: number;
  /** Worker threads of the job's own model pool in each process running it; 1-32, default 2. */
  concurrency?: number;
  /** `Input`: each output line joins the input record and its prediction; default `None`. */
  joinSource?: 'Input' | 'None';
  /** JSONPath applied to each record before the model sees it; default `$`. */
  inputFilter?: string;
  /** JSONPath applied to each output (after the join); default `$`. */
  outputFilter?: string;
  /** Share of failed records, 0-1, above which the job ends `Failed` instead of `CompletedWithFailures`; default 0.1. */
  failureThreshold?: number;
  /** Input lines per shard (one queue job each); 1-1000000, default 10000. */
  recordsPerShard?: number;
  /** A record slower than this fails into the failure file; 10-3600000 ms, default 60000. */
  recordTimeoutMs?: number;
  /** Webhook and NATS notification when the job ends; default none. */
  notification?: NotificationInput;
}

/** A batch job's options with every default filled in. */
export interface BatchJobOptions {
  contentType: BatchContentType;
  splitType: 'Line' | 'None';
  strategy: 'SingleRecord' | 'MultiRecord';
  maxPayloadMb: number;
  concurrency: number;
  joinSource: 'Input' | 'None';
  inputFilter: string;
  outputFilter: string;
  failureThreshold: number;
  recordsPerShard: number;
  recordTimeoutMs: number;
  notification?: NotificationSettings;
}

function invalid(detail: string, field: string): CapstanError {
  return new CapstanError('CAPSTAN_BATCH_OPTIONS_INVALID', detail, { fields: { field }, retryable: false });
}

function oneOf<T extends string>(value: unknown, field: string, values: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!values.includes(value as T)) throw invalid(`${field} must be one of ${values.join(', ')}, got ${JSON.stringify(value)}`, field);
  return value as T;
}

function num(value: unknown, field: string, min: number, max: number, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw invalid(`${field} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(value)}`, field);
  }
  return value;
}

const KNOWN = new Set(['model', 'input', 'output', 'contentType', 'splitType', 'strategy', 'maxPayloadMb', 'concurrency', 'joinSource', 'inputFilter', 'outputFilter', 'failureThreshold', 'recordsPerShard', 'recordTimeoutMs', 'notification']);

/** Validates a batch job's input and fills its option defaults; CAPSTAN_BATCH_OPTIONS_INVALID (or _FILTER_INVALID) names the field. */
export function compileBatchJobOptions(input: BatchJobInput): BatchJobOptions {
  if (!input || typeof input !== 'object') throw invalid('the batch job must be an object', 'body');
  for (const k of Object.keys(input)) if (!KNOWN.has(k)) throw invalid(`unknown field ${JSON.stringify(k)}`, k);
  for (const f of ['model', 'input', 'output'] as const) {
    if (typeof input[f] !== 'string' || input[f].trim() === '') throw invalid(`${f} is required`, f);
  }
  const inputFilter = input.inputFilter ?? '$';
  const outputFilter = input.outputFilter ?? '$';
  compileJsonPath(inputFilter);
  compileJsonPath(outputFilter);
  return {
    contentType: oneOf(input.contentType, 'contentType', ['application/jsonlines', 'text/csv'] as const, /\.csv$/i.test(input.input) ? 'text/csv' : 'application/jsonlines'),
    splitType: oneOf(input.splitType, 'splitType', ['Line', 'None'] as const, 'Line'),
    strategy: oneOf(input.strategy, 'strategy', ['SingleRecord', 'MultiRecord'] as const, 'MultiRecord'),
    maxPayloadMb: num(input.maxPayloadMb, 'maxPayloadMb', 0.001, 100, 6, false),
    concurrency: num(input.concurrency, 'concurrency', 1, 32, 2, true),
    joinSource: oneOf(input.joinSource, 'joinSource', ['Input', 'None'] as const, 'None'),
    inputFilter,
    outputFilter,
    failureThreshold: num(input.failureThreshold, 'failureThreshold', 0, 1, 0.1, false),
    recordsPerShard: num(input.recordsPerShard, 'recordsPerShard', 1, 1_000_000, 10_000, true),
    recordTimeoutMs: num(input.recordTimeoutMs, 'recordTimeoutMs', 10, 3_600_000, 60_000, true),
    ...(input.notification !== undefined ? { notification: compileNotification(input.notification) } : {}),
  };
}
