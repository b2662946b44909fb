import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeriodicTask } from './periodic-task.js';

describe('PeriodicTask', () => {
  it('never runs two ticks at once, keeps ticking after a failure, and stop waits for the tick in progress', async () => {
    let active = 0;
    let overlapped = false;
    let calls = 0;
    const errors: unknown[] = [];
    let releaseSlow!: () => void;
    const slow = new Promise<void>((r) => (releaseSlow = r));
    const task = new PeriodicTask(
      1,
      async () => {
        calls++;
        active++;
        if (active > 1) overlapped = true;
        try {
          if (calls === 1) throw new Error('first tick fails');
          if (calls === 2) await slow;
        } finally {
          active--;
        }
      },
      (err) => errors.push(err),
    );
    task.start();
    while (calls < 2) await new Promise((r) => setTimeout(r, 2));
    // The second tick hangs; many intervals pass without a third tick starting.
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(calls, 2);
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(stopped, false, 'stop waits for the tick in progress');
    releaseSlow();
    await stopping;
    assert.equal(overlapped, false);
    assert.deepEqual(errors.map((e) => (e as Error).message), ['first tick fails']);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(calls, 2, 'no tick after stop');
  });
});
