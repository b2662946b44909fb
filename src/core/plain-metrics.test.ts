import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { PlainCounter, PlainHistogram, type HistogramSeries } from './plain-metrics.js';

const BUCKETS = [0.001, 0.005, 0.01, 0.1];
const OBSERVED: [Record<'route' | 'status', string>, number][] = [
  [{ route: '/a', status: '200' }, 0.0004],
  [{ route: '/a', status: '200' }, 0.001],
  [{ route: '/a', status: '200' }, 0.007],
  [{ route: '/a', status: '500' }, 0.3],
  [{ route: '/b', status: '200' }, 0.05],
];

describe('plain metrics', () => {
  it('scrape exactly as prom-client\'s own counter and histogram with the same observations', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const labelNames = ['route', 'status'] as const;
    const counter = new Counter({ name: 'x_requests_total', help: 'requests', labelNames, registers: [theirs] });
    const histogram = new Histogram({ name: 'x_duration_seconds', help: 'duration', labelNames, buckets: BUCKETS, registers: [theirs] });
    const plainCounter = PlainCounter.on(ours, { name: 'x_requests_total', help: 'requests', labelNames });
    const plainHistogram = PlainHistogram.on(ours, { name: 'x_duration_seconds', help: 'duration', labelNames, buckets: BUCKETS });
    // Bound at first use, as prom-client creates a series at its first observation: the scrape lists series in that order.
    let bound: HistogramSeries | undefined;
    for (const [labels, value] of OBSERVED) {
      counter.inc(labels);
      histogram.observe(labels, value);
      plainCounter.inc(labels);
      if (labels.route === '/b') (bound ??= plainHistogram.labels(labels)).observe(value);
      else plainHistogram.observe(labels, value);
    }
    counter.inc({ route: '/b', status: '200' }, 4);
    plainCounter.labels({ route: '/b', status: '200' }).inc(4);
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.match(await ours.metrics(), /x_duration_seconds_bucket\{le="0.01",route="\/a",status="200"\} 3/);
    // The JSON form too, up to keys prom-client sets to undefined.
    const json = async (r: Registry) => JSON.parse(JSON.stringify(await r.getMetricsAsJSON()));
    assert.deepEqual(await json(ours), await json(theirs));
  });

  it('give the metric already registered under a name, and refuse one of another kind', () => {
    const registry = new Registry();
    const options = { name: 'x_total', help: 'x', labelNames: ['a'] as const };
    assert.equal(PlainCounter.on(registry, options), PlainCounter.on(registry, options));
    assert.throws(() => PlainHistogram.on(registry, { ...options, buckets: [1] }), /x_total is already registered as another kind/);
  });

  it('refuse a value that is not a finite number, counting nothing', async () => {
    const registry = new Registry();
    const h = PlainHistogram.on(registry, { name: 'x_seconds', help: 'x', labelNames: ['a'], buckets: [1] });
    h.observe({ a: 'k' }, 0.5);
    assert.throws(() => h.observe({ a: 'k' }, Number.NaN), /value is not a valid number/);
    assert.match(await registry.metrics(), /x_seconds_count\{a="k"\} 1\n/);
  });

  it('start from nothing again after the registry resets its metrics, bound series included', async () => {
    const registry = new Registry();
    const c = PlainCounter.on(registry, { name: 'x_total', help: 'x', labelNames: ['a'] });
    const bound = c.labels({ a: 'b' });
    c.inc({ a: 'k' }, 2);
    bound.inc(5);
    registry.resetMetrics();
    c.inc({ a: 'k' });
    bound.inc();
    const text = await registry.metrics();
    assert.match(text, /x_total\{a="k"\} 1\n/);
    assert.match(text, /x_total\{a="b"\} 1\n/);
  });

  it('drop a removed series from the scrape and start it from zero at its next use, other series untouched', async () => {
    const registry = new Registry();
    const c = PlainCounter.on(registry, { name: 'x_total', help: 'x', labelNames: ['m', 'n'] });
    const h = PlainHistogram.on(registry, { name: 'x_seconds', help: 'x', labelNames: ['m', 'n'], buckets: [1] });
    const gone = c.labels({ m: 'a', n: '1' });
    gone.inc(3);
    c.inc({ m: 'a', n: '2' }, 2);
    h.observe({ m: 'a', n: '1' }, 0.5);
    c.remove({ m: 'a', n: '1' });
    h.remove({ m: 'a', n: '1' });
    c.remove({ m: 'z', n: '9' });
    gone.inc();
    let text = await registry.metrics();
    assert.doesNotMatch(text, /n="1"/, 'a series bound before its removal does not bring it back');
    assert.match(text, /x_total\{m="a",n="2"\} 2\n/);
    c.inc({ m: 'a', n: '1' });
    text = await registry.metrics();
    assert.match(text, /x_total\{m="a",n="1"\} 1\n/);
  });
});
