import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointSlots } from './endpoint-slots.js';

describe('endpoint slots', () => {
  it('lets at most `limit` holders of one endpoint run, others wait in order; endpoints are independent', async () => {
    const slots = new EndpointSlots();
    const signal = new AbortController().signal;
    const a = await slots.acquire('e', 2, signal);
    const b = await slots.acquire('e', 2, signal);
    const other = await slots.acquire('f', 1, signal);
    const order: string[] = [];
    const c = slots.acquire('e', 2, signal).then((release) => (order.push('c'), release));
    const d = slots.acquire('e', 2, signal).then((release) => (order.push('d'), release));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, []);
    a();
    (await c)();
    b();
    (await d)();
    other();
    assert.deepEqual(order, ['c', 'd']);
  });
  it('stops waiting when the job is aborted', async () => {
    const slots = new EndpointSlots();
    const held = await slots.acquire('e', 1, new AbortController().signal);
    const ac = new AbortController();
    const waiting = slots.acquire('e', 1, ac.signal);
    ac.abort(new Error('lease lost'));
    await assert.rejects(waiting, /lease lost/);
    held();
  });
});
