import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ksStatistic, psi, ScoreBook, scoreOf } from './score-book.js';
import { compileAlarms } from './alarms.js';

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe('model-quality statistics', () => {
  it('PSI is near 0 for the same distribution and large for a shifted one; KS likewise between 0 and 1', () => {
    const blue = range(1000, (i) => (i % 100) / 100);
    assert.ok(psi(blue, range(1000, (i) => ((i * 7) % 100) / 100)) < 0.01);
    assert.ok(psi(blue, range(1000, (i) => 0.5 + (i % 100) / 200)) > 0.5);
    assert.equal(ksStatistic(blue, blue), 0);
    assert.equal(ksStatistic(blue, range(1000, (i) => 2 + i / 1000)), 1);
  });

  it('reads scores from answers and keeps them only for watched endpoints', () => {
    assert.equal(scoreOf('{"score":0.5}'), 0.5);
    assert.equal(scoreOf('{"items":[1,2],"scores":[0.2,0.4]}'), 0.30000000000000004);
    assert.equal(scoreOf('not json'), undefined);
    const book = new ScoreBook();
    book.answered({ endpoint: 'e', variant: 'a', body: '{"score":1}' });
    book.watch('e');
    book.answered({ endpoint: 'e', variant: 'a', body: '{"score":2}' });
    assert.deepEqual(book.since('e', ['a'], 0), [2]);
  });

  it('fires a quality alarm when green\'s scores drift from blue\'s, and waits for enough of both', () => {
    const [alarm] = compileAlarms([{ type: 'quality', statistic: 'ks', threshold: 0.3, minRequests: 5 }]);
    const side = (scores: number[]) => ({ requests: scores.length, errors5xx: 0, errors4xx: 0, errorRate: 0, p50: 1, p95: 1, p99: 1, meanMs: 1, scores });
    assert.equal(alarm.name, 'quality-ks>0.3');
    assert.equal(alarm.evaluate(side(range(10, (i) => i + 10)), side(range(10, (i) => i))).fired, true);
    assert.equal(alarm.evaluate(side(range(10, (i) => i)), side(range(10, (i) => i))).fired, false);
    assert.equal(alarm.evaluate(side(range(3, (i) => i)), side(range(10, (i) => i))).fired, null);
    assert.throws(() => compileAlarms([{ type: 'quality', statistic: 'ks', threshold: 2 }]), /threshold of a ks alarm is from 0 to 1/);
  });
});
