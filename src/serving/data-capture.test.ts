import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../core/logger.js';
import { openTestPlatform, type TestPlatform } from '../platform/test-support/test-platform.js';
import { captureBody, captureKeyPrefix, DataCaptureWriter, type CaptureRecord } from './data-capture.js';

const record = (i: number): CaptureRecord => ({
  variant: 'primary',
  inferenceId: `req-${i}`,
  requestContentType: 'application/json',
  request: JSON.stringify({ user: i }),
  responseContentType: 'application/json',
  response: JSON.stringify({ items: [i] }),
  status: 200,
});

describe('DataCaptureWriter', () => {
  let t: TestPlatform;
  before(async () => (t = await openTestPlatform()));
  after(async () => t.dispose());

  it('writes JSONL files into the artifact store, rotating by size', async () => {
    let written = 0;
    const writer = new DataCaptureWriter('shop', { enabled: true, samplingPercent: 100, rotateBytes: 1024, rotateMs: 3_600_000 }, t.platform.artifacts, silentLogger(), (n) => (written += n));
    for (let i = 0; i < 20; i++) writer.add(record(i));
    await writer.flush();
    const files = await t.platform.artifacts.list(captureKeyPrefix('shop'));
    assert.ok(files.length >= 2, `expected the 1 KiB limit to rotate the file, got ${files.length} file(s)`);
    for (const f of files) assert.match(f.key, /^data-capture\/shop\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/.+\.jsonl$/);
    const lines = (await Promise.all(files.map(async (f) => (await t.platform.artifacts.get(f.key)).toString('utf8').trim().split('\n')))).flat();
    assert.equal(lines.length, 20);
    assert.equal(written, 20);
    const ids = lines.map((l) => JSON.parse(l).inferenceId).sort();
    assert.deepEqual(ids, Array.from({ length: 20 }, (_, i) => `req-${i}`).sort());
    const first = JSON.parse(lines[0]);
    assert.equal(first.endpoint, 'shop');
    assert.equal(first.variant, 'primary');
    assert.match(first.time, /^\d{4}-\d{2}-\d{2}T/);
  });

  it('rotates by time: a file is written once its first record is rotateMs old', async () => {
    const writer = new DataCaptureWriter('timed', { enabled: true, samplingPercent: 100, rotateBytes: 1024 * 1024, rotateMs: 100 }, t.platform.artifacts, silentLogger());
    writer.add(record(1));
    // The timer flushes on its own; wait until the file shows up rather than for a fixed time.
    for (let i = 0; i < 200 && (await t.platform.artifacts.list(captureKeyPrefix('timed'))).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await t.platform.artifacts.list(captureKeyPrefix('timed'))).length, 1);
  });

  it('samples the configured share of requests', () => {
    const none = new DataCaptureWriter('x', { enabled: true, samplingPercent: 0, rotateBytes: 1024, rotateMs: 1000 }, t.platform.artifacts, silentLogger());
    const all = new DataCaptureWriter('x', { enabled: true, samplingPercent: 100, rotateBytes: 1024, rotateMs: 1000 }, t.platform.artifacts, silentLogger());
    const off = new DataCaptureWriter('x', { enabled: false, samplingPercent: 100, rotateBytes: 1024, rotateMs: 1000 }, t.platform.artifacts, silentLogger());
    for (let i = 0; i < 100; i++) {
      assert.equal(none.sample(), false);
      assert.equal(all.sample(), true);
      assert.equal(off.sample(), false);
    }
  });
});

describe('captureBody', () => {
  it('keeps text bodies as text and anything else as base64 that decodes to the exact bytes', () => {
    assert.deepEqual(captureBody('{"a":1}', 'application/json'), { data: '{"a":1}' });
    assert.deepEqual(captureBody(Buffer.from('{"é":1}'), 'application/json; charset=utf-8'), { data: '{"é":1}' });
    assert.deepEqual(captureBody(Buffer.from('1,2\n'), 'text/csv'), { data: '1,2\n' });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]);
    assert.deepEqual(captureBody(png, 'image/png'), { data: png.toString('base64'), encoding: 'base64' });
    // A JSON content type over bytes that are not UTF-8 must not be stored lossily as text.
    const notUtf8 = Buffer.from([0x7b, 0xff, 0x7d]);
    const stored = captureBody(notUtf8, 'application/json');
    assert.equal(stored.encoding, 'base64');
    assert.ok(Buffer.from(stored.data, 'base64').equals(notUtf8));
  });
});
