import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Batcher } from './batcher.js';

describe('Batcher', () => {
  it('merges requests that queue while the model is busy into one call, splitting results back in order', async () => {
    const calls: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batcher = new Batcher<number, number>({ maxBatchSize: 100, maxDelayMs: 0 }, async (items) => {
      calls.push(items);
      if (calls.length === 1) await gate;
      return items.map((x) => x * 10);
    });
    const first = batcher.submit(1, 1);
    await new Promise((r) => setImmediate(r));
    const rest = [2, 3, 4].map((x) => batcher.submit(x, 1));
    release();
    assert.deepEqual(await Promise.all([first, ...rest]), [10, 20, 30, 40]);
    assert.deepEqual(calls, [[1], [2, 3, 4]]);
  });

  it('never puts more than maxBatchSize rows in one call, but runs an oversized request alone', async () => {
    const calls: number[][] = [];
    const batcher = new Batcher<number, number>({ maxBatchSize: 5, maxDelayMs: 0 }, async (items) => {
      calls.push(items);
      return items;
    });
    await Promise.all([batcher.submit(3, 3), batcher.submit(2, 2), batcher.submit(4, 4), batcher.submit(9, 9)]);
    assert.deepEqual(calls, [[3, 2], [4], [9]]);
  });

  it('waits up to maxDelayMs for company and runs as soon as the batch is full', async () => {
    const calls: number[][] = [];
    const batcher = new Batcher<number, number>({ maxBatchSize: 3, maxDelayMs: 60_000 }, async (items) => {
      calls.push(items);
      return items;
    });
    // A full batch must not wait for the (very long) delay.
    await Promise.all([batcher.submit(1, 1), batcher.submit(2, 1), batcher.submit(3, 1)]);
    assert.deepEqual(calls, [[1, 2, 3]]);
  });

  it('fails every request of a batch whose model call fails, and keeps serving', async () => {
    let fail = true;
    const batcher = new Batcher<number, number>({ maxBatchSize: 10, maxDelayMs: 0 }, async (items) => {
      if (fail) throw new Error('boom');
      return items;
    });
    const results = await Promise.allSettled([batcher.submit(1, 1), batcher.submit(2, 1)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    fail = false;
    assert.equal(await batcher.submit(5, 1), 5);
  });
});
