import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../../core/errors.js';
import { readManifest } from '../../core/model-manifest.js';
import { writeNcfPackage, type NcfFixture } from '../../serving/test-support/ncf-package-fixture.js';
import type { Tensors } from '../../serving/runtimes/tensors.js';
import type { InferenceHandler, Prepared } from '../../serving/handlers/inference-handler.js';
import { createNcfRankingHandler, rankOrder } from './ncf-ranking-handler.js';

describe('builtin:ncf-ranking handler', () => {
  let dir: string;
  let fixture: NcfFixture;
  let strict: InferenceHandler;
  let lenient: InferenceHandler;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-ncf-handler-'));
    fixture = writeNcfPackage(dir, { users: 5, items: 8, itemId: (i) => `sku-${i}` });
    const manifest = readManifest(dir);
    const ctx = { dir, manifest, inputNames: ['user', 'item'], outputNames: ['score'] };
    strict = await createNcfRankingHandler({ ...ctx, options: {} });
    lenient = await createNcfRankingHandler({ ...ctx, options: { unknownIds: 'popularity' } });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs preprocess, then postprocess with a fake model scoring each row by its dense item index. */
  function rank(handler: InferenceHandler, body: unknown): Record<string, unknown> {
    const prepared = handler.preprocess({ body: JSON.stringify(body), contentType: 'application/json' }) as Prepared<unknown>;
    if ('response' in prepared) return JSON.parse(prepared.response.body);
    const items = prepared.feeds.item.data as BigInt64Array;
    const outputs: Tensors = { score: { type: 'float32', data: Float32Array.from(items, (d) => Number(d) / 10), dims: [items.length] } };
    return JSON.parse(handler.postprocess(outputs, prepared.state).body);
  }

  it('maps raw ids to dense indices and orders items by score', () => {
    const out = rank(strict, { user: [1000, 1000, 1000], item: ['sku-2', 'sku-7', 'sku-4'] });
    assert.deepEqual(out, { user: 1000, items: ['sku-7', 'sku-4', 'sku-2'], scores: [0.7, 0.4, 0.2] });
  });

  it('answers mixed-user pair requests with a users column', () => {
    const out = rank(strict, { user: [1000, 1001], item: ['sku-1', 'sku-3'] });
    assert.deepEqual(out, { users: [1001, 1000], items: ['sku-3', 'sku-1'], scores: [0.3, 0.1] });
  });

  it('answers top-k without the items the user saw in training', () => {
    const out = rank(strict, { user: 1001, k: 3 }) as { items: string[] };
    const seen = fixture.userItems[1].map((d) => `sku-${d}`);
    assert.equal(out.items.length, 3);
    for (const item of out.items) assert.ok(!seen.includes(item));
  });

  it('names unknown users and items in a 400 by default', () => {
    assert.throws(
      () => rank(strict, { user: 42, items: ['sku-1', 'nope'] }),
      (err) => isCapstanError(err, 'CAPSTAN_SERVING_UNKNOWN_IDS') && /unknown users \[42\]; unknown items \["nope"\]/.test(err.message),
    );
  });

  it('falls back to popularity for an unknown user, without calling the model', () => {
    const out = rank(lenient, { user: 42, items: ['sku-1', 'sku-2', 'sku-3'] }) as { items: string[]; fallback: string };
    const pop = (s: string) => fixture.popularity[Number(s.slice(4))];
    assert.equal(out.fallback, 'popularity');
    assert.deepEqual(out.items, [...out.items].sort((a, b) => pop(b) - pop(a)));
  });

  it('scores unknown items 0 for a known user when falling back', () => {
    const out = rank(lenient, { user: 1000, items: ['nope', 'sku-5'] });
    assert.deepEqual(out, { user: 1000, items: ['sku-5', 'nope'], scores: [0.5, 0], fallback: 'popularity' });
  });

  it('feeds the model int64 user and item columns, the user repeated per candidate', () => {
    const prepared = strict.preprocess({ body: JSON.stringify({ user: 1002, items: ['sku-6', 'sku-0', 'sku-3'] }), contentType: 'application/json' }) as Prepared<unknown>;
    assert.ok(!('response' in prepared));
    assert.deepEqual(Array.from(prepared.feeds.user.data as BigInt64Array), [2n, 2n, 2n]);
    assert.deepEqual(Array.from(prepared.feeds.item.data as BigInt64Array), [6n, 0n, 3n]);
    assert.deepEqual(prepared.feeds.item.dims, [3]);
  });

  it('answers interleaved requests of different sizes each as it would alone', () => {
    const long = { user: 1000, items: ['sku-0', 'sku-1', 'sku-2', 'sku-3', 'sku-4', 'sku-5', 'sku-6', 'sku-7'] };
    const short = { user: 1001, items: ['sku-6', 'sku-2'] };
    const alone = [rank(strict, long), rank(strict, short)];
    // Both prepared before either is rendered, as the batcher does; rendering reuses one set of arrays.
    const prepare = (body: unknown) => strict.preprocess({ body: JSON.stringify(body), contentType: 'application/json' }) as Extract<Prepared<unknown>, { feeds: Tensors }>;
    const render = (p: Extract<Prepared<unknown>, { feeds: Tensors }>) => {
      const items = p.feeds.item.data as BigInt64Array;
      return JSON.parse(strict.postprocess({ score: { type: 'float32', data: Float32Array.from(items, (d) => Number(d) / 10), dims: [items.length] } }, p.state).body);
    };
    const [a, b] = [prepare(long), prepare(short)];
    assert.deepEqual([render(b), render(a), render(b)], [alone[1], alone[0], alone[1]]);
    assert.deepEqual(alone[0].items, ['sku-7', 'sku-6', 'sku-5', 'sku-4', 'sku-3', 'sku-2', 'sku-1', 'sku-0']);
  });

  it('refuses malformed bodies and shapes with the field named', () => {
    const cases: [unknown, string, RegExp][] = [
      ['{"user":', 'CAPSTAN_SERVING_MALFORMED_JSON', /not valid JSON/],
      [{ user: 1000 }, 'CAPSTAN_SERVING_INVALID_INPUT', /send "items" to rank, or "k"/],
      [{ user: [1000], item: 'sku-1' }, 'CAPSTAN_SERVING_INVALID_INPUT', /"item" must be a list/],
      [{ user: 1000, items: [] }, 'CAPSTAN_SERVING_INVALID_INPUT', /must be a non-empty list/],
      [{ user: 1000, k: 0 }, 'CAPSTAN_SERVING_INVALID_INPUT', /k must be a positive integer/],
    ];
    for (const [body, code, message] of cases) {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      assert.throws(() => strict.preprocess({ body: text, contentType: 'application/json' }), (err) => isCapstanError(err) && err.code === code && message.test(err.message));
    }
  });
});

describe('ranking helpers', () => {
  it('orders by descending score with ties by position, negatives included', () => {
    const scores = [0.5, -1, 0.75, 0.5, 0, -0.25, 3];
    assert.deepEqual(Array.from(rankOrder(Float64Array.from(scores), scores.length)), [6, 2, 0, 3, 4, 5, 1]);
  });

  it('agrees with a comparator sort on random float32 scores', () => {
    const scores = Float32Array.from({ length: 500 }, () => Math.fround((Math.random() - 0.3) * 10));
    const expected = Array.from({ length: 500 }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
    assert.deepEqual(Array.from(rankOrder(scores, 500)), expected);
  });
});
