/** Batching settings of one variant. */
export interface BatchingOptions {
  /** Largest number of rows (first dimension) merged into one model call; 1 disables merging. Default 1. */
  maxBatchSize: number;
  /** How long the first queued request waits for company, in ms; default 0 (merge only what queued while the model was busy). */
  maxDelayMs: number;
}

interface Entry<I, O> {
  item: I;
  rows: number;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

/**
 * Dynamic batching: requests queue while the model is busy (or for up to `maxDelayMs`) and run as one
 * call of at most `maxBatchSize` rows; `run` gets the items in order and returns one result each.
 * A request larger than `maxBatchSize` runs alone. One call runs at a time, which also keeps a
 * single-threaded model from being oversubscribed.
 */
export class Batcher<I, O> {
  private readonly queue: Entry<I, O>[] = [];
  private queuedRows = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;

  constructor(
    private readonly options: BatchingOptions,
    private readonly run: (items: I[]) => Promise<O[]>,
  ) {}

  /** Queues one item of `rows` rows and resolves with its own result. */
  submit(item: I, rows: number): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, rows, resolve, reject });
      this.queuedRows += rows;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return;
    if (this.queuedRows >= this.options.maxBatchSize || this.options.maxDelayMs <= 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      // setImmediate lets messages already waiting on the port join this batch.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.options.maxDelayMs);
  }

  private take(): Entry<I, O>[] {
    const batch: Entry<I, O>[] = [this.queue.shift()!];
    let rows = batch[0].rows;
    while (this.queue.length > 0 && rows + this.queue[0].rows <= this.options.maxBatchSize) {
      const next = this.queue.shift()!;
      rows += next.rows;
      batch.push(next);
    }
    for (const e of batch) this.queuedRows -= e.rows;
    return batch;
  }

  private flush(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = this.take();
    this.run(batch.map((e) => e.item)).then(
      (results) => batch.forEach((e, i) => e.resolve(results[i])),
      (err) => batch.forEach((e) => e.reject(err)),
    ).finally(() => {
      this.running = false;
      // Whatever queued meanwhile has already waited for the model; run it now.
      if (this.queue.length > 0) setImmediate(() => this.flush());
    });
  }
}
