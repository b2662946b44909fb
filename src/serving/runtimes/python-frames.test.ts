import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, FrameReader, MAX_FRAME_BYTES } from './python-frames.js';

describe('python worker frames', () => {
  it('round-trips a header and payload bytes untouched, however the stream is chunked', () => {
    const body = Buffer.from([0, 255, 10, 13, 0xc3, 0xa9]);
    const frames = Buffer.concat([encodeFrame({ t: 'invoke', id: 1 }, [body, Buffer.from('x')]), encodeFrame({ t: 'ready' })]);
    for (const size of [1, 3, 7, frames.length]) {
      const reader = new FrameReader();
      const out = [];
      for (let i = 0; i < frames.length; i += size) out.push(...reader.push(frames.subarray(i, i + size)));
      assert.equal(out.length, 2, `chunks of ${size}`);
      assert.deepEqual(out[0].header, { t: 'invoke', id: 1 });
      assert.deepEqual([...out[0].payload], [...body, 0x78]);
      assert.deepEqual(out[1].header, { t: 'ready' });
      assert.equal(out[1].payload.length, 0);
    }
  });

  it('refuses a frame larger than the limit or a header longer than its frame', () => {
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    assert.throws(() => new FrameReader().push(huge), /out of bounds/);
    const lying = Buffer.alloc(12);
    lying.writeUInt32BE(8, 0);
    lying.writeUInt32BE(100, 4);
    assert.throws(() => new FrameReader().push(lying), /header is longer than the frame/);
  });
});
