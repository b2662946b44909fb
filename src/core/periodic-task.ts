/**
 * Runs `tick` every `everyMs` in the background, never two at once (a slow tick makes the next ones
 * skip, not pile up); a failed tick goes to `onError` and the next interval tries again. The timer is
 * unref'd so it never keeps a process alive; `stop` waits for a tick in progress.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly everyMs: number,
    private readonly tick: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Starts the interval; a second call does nothing. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .then(() => undefined, this.onError)
        .finally(() => {
          this.running = undefined;
        });
    }, this.everyMs);
    this.timer.unref();
  }

  /** Stops the interval and resolves once the tick in progress, if any, has ended. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
