import type { ScalingConfig } from './scaling-config.js';

/**
 * The scaling rule of one variant's pool in this process: the size it should have, from the peak
 * in-flight count seen since the last decision. Up at once (at most every scaleUpCooldownMs) to
 * ceil(peak / targetInFlight); down one worker at a time after concurrency stayed below the current
 * size for scaleDownCooldownMs; to zero (min 0) after idleTimeoutMs without a request. Every serving
 * process runs its own copy on its own traffic, so several processes follow the same rule each.
 */
export class Autoscaler {
  private peak = 0;
  private lastUpAt = Number.NEGATIVE_INFINITY;
  private belowSince: number | undefined;
  /** When the last request arrived (monotonic ms). */
  lastRequestAt: number;

  constructor(
    readonly config: ScalingConfig,
    now: number,
  ) {
    this.lastRequestAt = now;
  }

  /** Notes a request arriving with `inFlight` requests already in the pool. */
  observe(inFlight: number, now: number): void {
    // Never backwards: a promised retry (`expect`) may already hold the idle clock in the future.
    if (now > this.lastRequestAt) this.lastRequestAt = now;
    if (inFlight + 1 > this.peak) this.peak = inFlight + 1;
  }

  /** True when a request arriving now would push concurrency above the target and a scale-up is allowed. */
  wantsUp(size: number, now: number): boolean {
    return size < this.config.max && this.peak > size * this.config.targetInFlight && now - this.lastUpAt >= this.config.scaleUpCooldownMs;
  }

  /** The size the pool should have now (size 0 stays 0: a request, not the scaler, starts a cold pool). */
  decide(size: number, inFlight: number, now: number): number {
    const { min, max, targetInFlight } = this.config;
    const peak = Math.max(this.peak, inFlight);
    this.peak = inFlight;
    if (size === 0) return 0;
    const floor = Math.max(min, 1);
    const wanted = Math.min(max, Math.max(floor, Math.ceil(peak / targetInFlight)));
    if (wanted > size) {
      this.belowSince = undefined;
      if (now - this.lastUpAt < this.config.scaleUpCooldownMs) return size;
      this.lastUpAt = now;
      return wanted;
    }
    if (min === 0 && inFlight === 0 && now - this.lastRequestAt >= this.config.idleTimeoutMs) {
      this.belowSince = undefined;
      return 0;
    }
    if (wanted < size) {
      this.belowSince ??= now;
      if (now - this.belowSince >= this.config.scaleDownCooldownMs) {
        this.belowSince = now;
        return size - 1;
      }
      return size;
    }
    this.belowSince = undefined;
    return size;
  }

  /**
   * Notes a request told to come back at `at` (a refusal's Retry-After): the idle clock counts from
   * then, so the worker the refusal started is still up when the retry arrives.
   */
  expect(at: number): void {
    if (at > this.lastRequestAt) this.lastRequestAt = at;
  }

  /** Records a scale-up started outside `decide` (a request saw the pool saturated). */
  scaledUp(now: number): void {
    this.lastUpAt = now;
    this.belowSince = undefined;
  }
}
