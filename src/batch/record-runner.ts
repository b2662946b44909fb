import { CapstanError } from '../core/errors.js';
import type { ModelRunner } from '../serving/index.js';
import type { BatchJobOptions } from './batch-options.js';
import type { RecordCodec } from './record-codec.js';

/** What one shard produced: output lines in input order and the failed records. */
export interface ShardResult {
  lines: string[];
  failures: { line: number; reason: string }[];
}

function reasonOf(err: unknown): string {
  if (err instanceof CapstanError) return `${err.code}: ${err.message}`;
  return (err as Error)?.message ?? String(err);
}

/**
 * Runs a shard's records through the model with a bounded window in flight: SingleRecord keeps
 * `concurrency` records in flight (one per worker thread); MultiRecord sends records up to
 * `maxPayloadMb` per thread together, so the worker's dynamic batcher merges them into shared model
 * calls. Results land in input order whatever order the model answers in. A record that cannot be
 * parsed, is larger than the payload limit or fails in the model goes to the failures, and the shard goes on.
 */
export async function runRecords(lines: string[], firstLine: number, options: BatchJobOptions, codec: RecordCodec, runner: ModelRunner, signal: AbortSignal): Promise<ShardResult> {
  const maxBytes = Math.floor(options.maxPayloadMb * 1024 * 1024);
  const multi = options.strategy === 'MultiRecord';
  const maxCount = multi ? 256 * options.concurrency : options.concurrency;
  const maxInFlightBytes = multi ? maxBytes * options.concurrency : Number.POSITIVE_INFINITY;
  const out: (string | undefined)[] = new Array(lines.length);
  const failures: ({ line: number; reason: string } | undefined)[] = new Array(lines.length);
  let inFlight = 0;
  let inFlightBytes = 0;
  let wake: (() => void) | undefined;
  const settled = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  for (let i = 0; i < lines.length; i++) {
    if (signal.aborted) throw signal.reason ?? new Error('aborted');
    const text = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (text.trim() === '') continue;
    const lineNo = firstLine + i;
    const bytes = Buffer.byteLength(text);
    if (bytes > maxBytes) {
      failures[i] = { line: lineNo, reason: `the record is ${bytes} bytes, larger than maxPayloadMb (${options.maxPayloadMb} MiB)` };
      continue;
    }
    const record = codec.prepare(text);
    if (!record.ok) {
      failures[i] = { line: lineNo, reason: record.reason };
      continue;
    }
    while (inFlight >= maxCount || (inFlight > 0 && inFlightBytes + bytes > maxInFlightBytes)) await new Promise<void>((r) => (wake = r));
    inFlight++;
    inFlightBytes += bytes;
    runner
      .invoke(record.body, codec.modelContentType)
      .then(
        (answer) => {
          try {
            out[i] = codec.render(record, answer);
          } catch (err) {
            failures[i] = { line: lineNo, reason: `the model's answer cannot be rendered: ${reasonOf(err)}` };
          }
        },
        (err) => (failures[i] = { line: lineNo, reason: reasonOf(err) }),
      )
      .finally(() => {
        inFlight--;
        inFlightBytes -= bytes;
        settled();
      });
  }
  while (inFlight > 0) await new Promise<void>((r) => (wake = r));
  return { lines: out.filter((l): l is string => l !== undefined), failures: failures.filter((f): f is { line: number; reason: string } => f !== undefined) };
}
