import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionRecord, StepRecord } from '../pipelines/execution.js';
import { reportStepChanges, stepLine } from './step-progress.js';

const step = (name: string, state: string, extra: Partial<StepRecord> = {}) => ({ name, state, cached: false, metrics: {}, error: null, durationMs: null, ...extra }) as unknown as StepRecord;

describe('step progress', () => {
  it('shows state, duration, cache hit, rounded metrics and the reason of a failure', () => {
    assert.equal(stepLine(step('train', 'succeeded', { durationMs: 12_840, metrics: { 'hr@10': 0.59301, loss: 0.32871234 } })), '✓ train            succeeded 12.8s hr@10=0.593 loss=0.3287');
    assert.equal(stepLine(step('prepare', 'succeeded', { durationMs: 10, cached: true })), '✓ prepare          succeeded 0.0s (cached)');
    assert.equal(stepLine(step('deploy', 'failed', { error: { code: 'X', message: 'not approved' } as StepRecord['error'] })), '✗ deploy           failed — not approved');
    assert.equal(stepLine(step('train', 'succeeded', { metrics: { 'hr@10': 0.5, loss: 0.3 } }), ['hr@10']), '✓ train            succeeded hr@10=0.5');
  });

  it('writes one line per state change until the execution is done, including the changes of the last read', async () => {
    const states = [
      [step('a', 'running'), step('b', 'pending')],
      [step('a', 'running'), step('b', 'pending')],
      [step('a', 'succeeded'), step('b', 'running')],
      [step('a', 'succeeded'), step('b', 'succeeded')],
    ];
    let i = 0;
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const read = async () => {
      const steps = states[Math.min(i++, states.length - 1)];
      if (i >= states.length) finish();
      return { steps } as unknown as ExecutionRecord;
    };
    const lines: string[] = [];
    await reportStepChanges(read, done, (l) => lines.push(l), 1);
    assert.deepEqual(lines.map((l) => l.replace(/\s+/g, ' ')), ['▶ a running', '✓ a succeeded', '▶ b running', '✓ b succeeded']);
  });
});
