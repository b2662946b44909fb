import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InFlightTable } from './in-flight-table.js';

describe('in-flight table', () => {
  it('gives each value its own id and hands it back once', () => {
    const table = new InFlightTable<string>();
    const a = table.add('a');
    const b = table.add('b');
    assert.notEqual(a, b);
    assert.equal(table.size, 2);
    assert.equal(table.get(a), 'a');
    assert.equal(table.take(a), 'a');
    assert.equal(table.take(a), undefined);
    assert.equal(table.get(a), undefined);
    assert.equal(table.size, 1);
    assert.equal(table.get(b), 'b');
  });

  it('does not let a late answer for a taken value find the newer value in the same slot', () => {
    const table = new InFlightTable<string>();
    const old = table.add('timed out');
    table.take(old);
    const fresh = table.add('fresh');
    assert.notEqual(fresh, old);
    assert.equal(table.take(old), undefined);
    assert.equal(table.get(fresh), 'fresh');
  });

  it('reuses freed slots, so a steady stream of requests keeps the table at its peak in flight', () => {
    const table = new InFlightTable<number>();
    const live: number[] = [];
    const ids = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const id = table.add(i);
      ids.add(id);
      live.push(id);
      if (live.length > 20) assert.equal(table.take(live.shift()!), i - 20);
    }
    assert.equal(ids.size, 10_000, 'ids repeat');
    assert.equal(table.size, 20);
    let seen = 0;
    table.forEach(() => seen++);
    assert.equal(seen, 20);
    assert.ok(Math.max(...live.map((id) => id % 2 ** 21)) < 21, 'the table grew past its peak in flight');
  });

  it('lets forEach take what it visits, and takeAll empty the table', () => {
    const table = new InFlightTable<{ deadline: number }>();
    for (const deadline of [5, 50, 7, 70]) table.add({ deadline });
    const expired: number[] = [];
    table.forEach((v, id) => {
      if (v.deadline > 10) return;
      table.take(id);
      expired.push(v.deadline);
    });
    assert.deepEqual(expired, [5, 7]);
    assert.deepEqual(table.takeAll().map((v) => v.deadline), [50, 70]);
    assert.equal(table.size, 0);
    table.forEach(() => assert.fail('the table should be empty'));
  });
});
