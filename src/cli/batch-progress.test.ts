import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BatchJob } from '../batch/index.js';
import { batchProgressLine, followBatchJob } from './batch-progress.js';

function job(done: number, total: number, extra: Partial<BatchJob> = {}): BatchJob {
  return {
    id: 'bj_1', model: { ref: 'ncf@champion', name: 'ncf', version: 1 }, input: 'file:///in', output: 'file:///out', options: {} as BatchJob['options'],
    state: 'InProgress', shards: { total: 2, done: 1 }, records: { total, done, failed: 0 },
    progress: { percent: 0, recordsPerSecond: 100, etaSeconds: 5 }, failureUri: null, failureReason: null,
    createdBy: 'local', createdAt: '2026-12-01T00:00:00.000Z', startedAt: '2026-12-01T00:00:00.000Z', finishedAt: null, ...extra,
  };
}

describe('batch progress', () => {
  it('draws a bar with records, rate and ETA', () => {
    assert.equal(batchProgressLine(job(500, 1000)), `[${'#'.repeat(15)}${'.'.repeat(15)}]  50.0% 500/1000 records, 100 rec/s, ETA 5s InProgress`);
    assert.match(batchProgressLine(job(1000, 1000, { state: 'Completed', finishedAt: '2026-12-01T00:00:10.000Z', records: { total: 1000, done: 1000, failed: 3 } })), /^\[#{30}\] 100\.0% 1000\/1000 records, 3 failed, 100 rec\/s Completed$/);
  });
  it('reports each change once and returns the ended job', async () => {
    const states = [job(0, 10), job(0, 10), job(10, 10, { state: 'Completed', finishedAt: '2026-12-01T00:00:01.000Z' })];
    const lines: string[] = [];
    const end = await followBatchJob(async () => states.shift()!, (l) => lines.push(l), 1);
    assert.equal(end.state, 'Completed');
    assert.equal(lines.length, 2);
  });
});
