/** How `pollUntil` polls; every field has a default. */
export interface PollOptions {
  /** Give up after this long; default 30000 ms. */
  deadlineMs?: number;
  /** Pause between probes; default 50 ms. */
  intervalMs?: number;
  /** Count a probe that throws as "not yet" (a database that is down on purpose); default false. */
  ignoreErrors?: boolean;
}

/**
 * Probes until `probe` returns a value other than undefined and returns it; throws
 * `timed out waiting for <what>` once the deadline passes. The one bounded wait tests share instead of sleeps.
 */
export async function pollUntil<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, options: PollOptions = {}): Promise<T> {
  const end = Date.now() + (options.deadlineMs ?? 30_000);
  const interval = options.intervalMs ?? 50;
  for (;;) {
    let value: T | undefined;
    try {
      value = await probe();
    } catch (err) {
      if (!options.ignoreErrors) throw err;
    }
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
