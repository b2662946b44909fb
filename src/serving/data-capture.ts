import { randomBytes } from 'node:crypto';
import type { Logger } from '../core/logger.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { DataCaptureConfig } from './endpoint-config.js';

/** One captured invocation. */
export interface CaptureRecord {
  variant: string;
  inferenceId?: string;
  requestContentType: string;
  request: string;
  responseContentType: string;
  response: string;
  status: number;
  /** Whole-request latency, recorded for shadow pairs. */
  latencyMs?: number;
  /** On a shadow variant's record: the variant that answered the user. */
  shadowOf?: string;
  /** On a pipeline stage's record (stages with `capture: true`): the stage, whose own input and output it holds. */
  stage?: string;
}

/** The artifact-store prefix under which an endpoint's capture files live. */
export function captureKeyPrefix(endpoint: string): string {
  return `data-capture/${endpoint}/`;
}

/**
 * Data capture for one endpoint: a sampled share of requests and their responses, one JSON line
 * each, buffered in memory and written to the artifact store as a new file whenever the buffer
 * reaches `rotateBytes` or its first record is `rotateMs` old. Files are keyed by the hour they
 * were opened (`data-capture/<endpoint>/2025/01/31/14/<time>-<random>.jsonl`) and are never
 * appended to, which works the same on a directory and on S3.
 */
export class DataCaptureWriter {
  private lines: string[] = [];
  private bytes = 0;
  private openedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly endpoint: string,
    private readonly config: DataCaptureConfig,
    private readonly artifacts: ArtifactStore,
    private readonly logger: Logger,
    private readonly onWritten: (records: number) => void = () => {},
  ) {}

  /** True when this request should be captured (the sampling draw). */
  sample(): boolean {
    return this.config.enabled && Math.random() * 100 < this.config.samplingPercent;
  }

  /** Buffers one record; rotates the file when it is full. */
  add(record: CaptureRecord): void {
    const time = new Date();
    const line = JSON.stringify({ endpoint: this.endpoint, time: time.toISOString(), ...record });
    if (this.lines.length === 0) {
      this.openedAt = time.getTime();
      this.timer = setTimeout(() => void this.flush(), this.config.rotateMs);
      this.timer.unref();
    }
    this.lines.push(line);
    this.bytes += Buffer.byteLength(line) + 1;
    if (this.bytes >= this.config.rotateBytes) void this.flush();
  }

  /** Writes the buffered records as one file (if any) and resolves when every write so far is done. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length > 0) {
      const lines = this.lines;
      const opened = new Date(this.openedAt);
      this.lines = [];
      this.bytes = 0;
      const pad = (n: number) => String(n).padStart(2, '0');
      const key = `${captureKeyPrefix(this.endpoint)}${opened.getUTCFullYear()}/${pad(opened.getUTCMonth() + 1)}/${pad(opened.getUTCDate())}/${pad(opened.getUTCHours())}/${opened.toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}.jsonl`;
      this.writing = this.writing.then(() =>
        this.artifacts.put(key, `${lines.join('\n')}\n`).then(
          () => this.onWritten(lines.length),
          (err) => this.logger.error({ err, endpoint: this.endpoint, records: lines.length }, 'data capture write failed; records dropped'),
        ),
      );
    }
    return this.writing;
  }
}
