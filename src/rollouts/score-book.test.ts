import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../core/logger.js';
import { testDatabases } from '../storage/test-support/test-databases.js';
import { compileAlarms, type SideWindow } from './alarms.js';
import { ScoreBook, scoreOf } from './score-book.js';
import { histogramOf, histogramTotal } from './score-histogram.js';
import { SqlScoreStore } from './sql-score-store.js';

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe('model-quality alarms', () => {
  it('reads scores from answers', () => {
    assert.equal(scoreOf('{"score":0.5}'), 0.5);
    assert.equal(scoreOf('{"items":[1,2],"scores":[0.2,0.4]}'), 0.30000000000000004);
    assert.equal(scoreOf('not json'), undefined);
  });

  it("fires when green's score histogram drifts from blue's, and waits for enough of both", () => {
    const [alarm] = compileAlarms([{ type: 'quality', statistic: 'ks', threshold: 0.3, minRequests: 5 }]);
    const side = (scores: number[]): SideWindow => ({ requests: scores.length, errors5xx: 0, errors4xx: 0, errorRate: 0, p50: 1, p95: 1, p99: 1, meanMs: 1, scores: histogramOf(scores) });
    assert.equal(alarm.name, 'quality-ks>0.3');
    assert.equal(alarm.evaluate(side(range(10, (i) => i + 10)), side(range(10, (i) => i))).fired, true);
    assert.equal(alarm.evaluate(side(range(10, (i) => i)), side(range(10, (i) => i))).fired, false);
    assert.equal(alarm.evaluate(side(range(3, (i) => i)), side(range(10, (i) => i))).fired, null);
    assert.throws(() => compileAlarms([{ type: 'quality', statistic: 'ks', threshold: 2 }]), /threshold of a ks alarm is from 0 to 1/);
  });
});

for (const factory of await testDatabases()) {
  describe(`shared score histograms (${factory.name})`, { skip: factory.skip }, () => {
    it('sums the histograms every process flushed, counts only watched endpoints, and rewrites a process\'s row instead of adding it twice', async () => {
      const t = await factory.create();
      try {
        const store = new SqlScoreStore(t.db);
        const here = new ScoreBook(store, silentLogger());
        const there = new ScoreBook(store, silentLogger());
        const start = Date.now();
        here.answered({ endpoint: 'e', variant: 'green', body: '{"score":1}' });
        here.watch('e');
        there.watch('e');
        here.answered({ endpoint: 'e', variant: 'green', body: '{"score":2}' });
        await here.flush();
        here.answered({ endpoint: 'e', variant: 'green', body: '{"score":2}' });
        await here.flush();
        for (let i = 0; i < 3; i++) there.answered({ endpoint: 'e', variant: 'green', body: '{"score":9}' });
        there.answered({ endpoint: 'e', variant: 'blue', body: '{"score":1}' });
        there.answered({ endpoint: 'other', variant: 'green', body: '{"score":1}' });
        await there.flush();
        const green = await here.histogram('e', ['green'], start);
        assert.equal(histogramTotal(green), 5, 'two answers here (flushed twice) and three there');
        assert.deepEqual([...green.values()].sort(), [2, 3]);
        assert.equal(histogramTotal(await here.histogram('e', ['blue', 'green'], start)), 6);
        assert.equal(histogramTotal(await here.histogram('other', ['green'], start)), 0);
        there.watchOnly([]);
        assert.equal(there.watching('e'), false);
      } finally {
        await t.dispose();
      }
    });
  });
}
