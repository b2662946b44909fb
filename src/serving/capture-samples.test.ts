import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CapstanError } from '../core/errors.js';
import { openTestPlatform, type TestPlatform } from '../platform/test-support/test-platform.js';
import { readCaptureSamples } from './capture-samples.js';
import { captureKeyPrefix } from './data-capture.js';

const line = (i: number) => JSON.stringify({ endpoint: 'shop', time: new Date(Date.UTC(2025, 0, 31, 14, 0, i)).toISOString(), variant: 'primary', inferenceId: `req-${i}`, requestContentType: 'application/json', request: `{"user":${i}}`, responseContentType: 'application/json', response: '{}', status: 200 });

describe('readCaptureSamples', () => {
  let t: TestPlatform;
  before(async () => {
    t = await openTestPlatform();
    // Three files of records 0-3, 4-6 and 7-9, opened in that order.
    const files = [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]];
    for (const [n, records] of files.entries()) {
      await t.platform.artifacts.put(`${captureKeyPrefix('shop')}2025/01/31/14/2025-01-31T14-00-0${n}-000Z-abcd000${n}.jsonl`, `${records.map(line).join('\n')}\n`);
    }
    await t.platform.artifacts.put(`${captureKeyPrefix('shopfront')}2025/01/31/14/2025-01-31T14-00-09-000Z-ffff0000.jsonl`, `${line(99)}\n`);
  });
  after(async () => t.dispose());

  it('pages the records newest first across files, ending with a null cursor, and never mixes in another endpoint', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await readCaptureSamples(t.platform.artifacts, 'shop', { limit: 3, cursor });
      seen.push(...page.items.map((r) => String(r.inferenceId)));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor !== undefined && pages < 10);
    assert.deepEqual(seen, ['req-9', 'req-8', 'req-7', 'req-6', 'req-5', 'req-4', 'req-3', 'req-2', 'req-1', 'req-0']);
    assert.equal(pages, 4);
  });

  it('answers an empty page for an endpoint that captured nothing', async () => {
    assert.deepEqual(await readCaptureSamples(t.platform.artifacts, 'quiet'), { items: [], nextCursor: null });
  });

  it('refuses a cursor of another endpoint and a limit out of range with CAPSTAN_REQUEST_INVALID', async () => {
    await assert.rejects(readCaptureSamples(t.platform.artifacts, 'shop', { cursor: `${captureKeyPrefix('other')}x.jsonl#0` }), (e: unknown) => e instanceof CapstanError && e.code === 'CAPSTAN_REQUEST_INVALID' && /cursor/.test(e.message));
    await assert.rejects(readCaptureSamples(t.platform.artifacts, 'shop', { limit: 0 }), (e: unknown) => e instanceof CapstanError && e.code === 'CAPSTAN_REQUEST_INVALID' && /limit must be an integer from 1 to 200/.test(e.message));
  });
});
