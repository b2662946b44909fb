/**
 * Per-endpoint concurrency in this process (SageMaker's MaxConcurrentInvocationsPerInstance): a job
 * waits here, still holding its lease, until one of its endpoint's slots is free.
 */
export class EndpointSlots {
  private readonly active = new Map<string, number>();
  private readonly waiters = new Map<string, (() => void)[]>();

  /** Takes a slot of `endpoint` under `limit`, waiting while all are taken; rejects when `signal` aborts. */
  async acquire(endpoint: string, limit: number, signal: AbortSignal): Promise<() => void> {
    while ((this.active.get(endpoint) ?? 0) >= limit) {
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      await new Promise<void>((resolve) => {
        const list = this.waiters.get(endpoint) ?? [];
        list.push(resolve);
        this.waiters.set(endpoint, list);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    this.active.set(endpoint, (this.active.get(endpoint) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active.set(endpoint, (this.active.get(endpoint) ?? 1) - 1);
      this.waiters.get(endpoint)?.shift()?.();
    };
  }
}
