import { CapstanError } from '../../core/errors.js';

/** Slots of the control array a `SpinBarrier` uses. */
const COUNT = 0;
const GENERATION = 1;
const FAILED = 2;

/** Int32 slots a barrier needs in its control array. */
export const BARRIER_SLOTS = 3;

/**
 * A reusable barrier for threads sharing an Int32Array on a SharedArrayBuffer: spins briefly (the
 * other thread is usually microseconds away), then sleeps in Atomics.wait. A thread that fails calls
 * `fail()` so the others stop waiting and throw instead of hanging.
 */
export class SpinBarrier {
  constructor(
    private readonly ctrl: Int32Array,
    private readonly parties: number,
    private readonly timeoutMs = 120_000,
  ) {}

  /** Blocks until every party has arrived. */
  wait(): void {
    const ctrl = this.ctrl;
    const gen = Atomics.load(ctrl, GENERATION);
    if (Atomics.add(ctrl, COUNT, 1) === this.parties - 1) {
      Atomics.store(ctrl, COUNT, 0);
      Atomics.add(ctrl, GENERATION, 1);
      Atomics.notify(ctrl, GENERATION);
      return;
    }
    for (let i = 0; i < 4000; i++) if (Atomics.load(ctrl, GENERATION) !== gen) return;
    const deadline = Date.now() + this.timeoutMs;
    while (Atomics.load(ctrl, GENERATION) === gen) {
      if (Atomics.load(ctrl, FAILED) !== 0) throw new CapstanError('CAPSTAN_INTERNAL', 'a training thread failed');
      if (Date.now() > deadline) throw new CapstanError('CAPSTAN_INTERNAL', 'a training thread stopped responding');
      Atomics.wait(ctrl, GENERATION, gen, 20);
    }
  }

  /** Marks the group failed and wakes every waiting party. */
  fail(): void {
    Atomics.store(this.ctrl, FAILED, 1);
    Atomics.add(this.ctrl, GENERATION, 1);
    Atomics.notify(this.ctrl, GENERATION);
  }

  /** True once a party has failed. */
  get failed(): boolean {
    return Atomics.load(this.ctrl, FAILED) !== 0;
  }
}
