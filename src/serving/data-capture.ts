import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../core/logger.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { DataCaptureConfig } from './endpoint-config.js';
import type { InvocationBody } from './invocation-body.js';

/** One captured invocation. */
export interface CaptureRecord {
  variant: string;
  inferenceId?: string;
  requestContentType: string;
  request: InvocationBody;
  responseContentType: string;
  response: InvocationBody;
  status: number;
  /** Whole-request latency, recorded for shadow pairs. */
  latencyMs?: number;
  /** On a shadow variant's record: the variant that answered the user. */
  shadowOf?: string;
  /** On a pipeline stage's record (stages with `capture: true`): the stage, whose own input and output it holds. */
  stage?: string;
}

/** Media types whose bodies are kept as text in capture files (when they are valid UTF-8). */
function isTextual(contentType: string): boolean {
  const media = contentType.split(';', 1)[0].trim().toLowerCase();
  return media.startsWith('text/') || media === 'application/json' || media.endsWith('+json') || media === 'application/jsonlines' || media === 'application/x-ndjson';
}

/**
 * A body as a JSON-safe string and its encoding: text bodies as they are, anything else (images,
 * arrays, bytes that are not UTF-8) as base64, marked so a reader gets the exact bytes back.
 */
export function captureBody(body: InvocationBody, contentType: string): { data: string; encoding?: 'base64' } {
  if (typeof body === 'string') return { data: body };
  if (isTextual(contentType) && isUtf8(body)) return { data: body.toString('utf8') };
  return { data: body.toString('base64'), encoding: 'base64' };
}

/** The artifact-store prefix under which an endpoint's capture files live. */
export function captureKeyPrefix(endpoint: string): string {
  return `data-capture/${endpoint}/`;
}

/**
 * Data capture for one endpoint: a sampled share of requests and their responses, one JSON line
 * each (binary bodies in base64, marked `requestEncoding` / `responseEncoding: "base64"`), buffered
 * in memory and written to the artifact store as a new file whenever the buffer reaches
 * `rotateBytes` or its first record is `rotateMs` old. Files are keyed by the hour they were opened
 * (`data-capture/<endpoint>/2025/01/31/14/<time>-<random>.jsonl`) and are never appended to, which
 * works the same on a directory and on S3.
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
    const request = captureBody(record.request, record.requestContentType);
    const response = captureBody(record.response, record.responseContentType);
    const line = JSON.stringify({
      endpoint: this.endpoint,
      time: time.toISOString(),
      ...record,
      request: request.data,
      ...(request.encoding ? { requestEncoding: request.encoding } : {}),
      response: response.data,
      ...(response.encoding ? { responseEncoding: response.encoding } : {}),
    });
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
