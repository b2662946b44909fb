import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonTextWriter } from './json-text-writer.js';

const scoreWriter = new JsonTextWriter();

/** One score as the writer prints it. */
function formatScore(x: number): string {
  scoreWriter.score(x);
  return scoreWriter.take();
}

describe('JsonTextWriter', () => {
  it('formats scores exactly like String(Math.round(x * 1e6) / 1e6)', () => {
    const xs = [0, 1, 0.5, 0.1234567, 0.0000004, 0.000001, 0.000105, 0.999999, 0.9999996, 12.25, 1234.5, 1999.9999994, -0.5, -3.1234567, 5e9, NaN];
    for (let i = 0; i < 2000; i++) xs.push(Math.fround(Math.random()), Math.random() * 3000);
    for (const x of xs) assert.equal(formatScore(x), String(Math.round(x * 1e6) / 1e6), `x = ${x}`);
  });

  it('keeps ids with non-ASCII characters intact', () => {
    const w = new JsonTextWriter();
    w.raw('{"items":[');
    w.raw(JSON.stringify('café-☕'));
    w.char(44);
    w.raw(JSON.stringify('😀 ok'));
    w.raw(']}');
    assert.deepEqual(JSON.parse(w.take()), { items: ['café-☕', '😀 ok'] });
  });

  it('grows past its first buffer and starts empty after each text', () => {
    const w = new JsonTextWriter();
    const ids = Array.from({ length: 3000 }, (_, i) => JSON.stringify(`item-${i}`));
    w.char(91);
    ids.forEach((id, i) => {
      if (i > 0) w.char(44);
      w.raw(id);
    });
    w.char(93);
    assert.equal(w.take(), `[${ids.join(',')}]`);
    w.raw('[1]');
    assert.equal(w.take(), '[1]');
  });
});
