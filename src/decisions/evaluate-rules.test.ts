import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapstanError } from '../core/errors.js';
import { compileUseCase } from './compile-usecase.js';
import { evaluateRules } from './evaluate-rules.js';

const rulesOf = (rules: Record<string, unknown>) =>
  compileUseCase({ name: 'u', input: { schema: { type: 'object' } }, tasks: [{ name: 's', type: 'cel', expression: 'input.s' }], rules }).rules;
const ctx = (s: number) => ({ input: {}, thresholds: { low: 0.3, high: 0.8 }, tasks: { s } });
const list = [
  { name: 'mild', when: 'tasks.s >= thresholds.low', outcome: 'review', reason: 'above low' },
  { name: 'severe', when: 'tasks.s >= thresholds.high', outcome: 'reject', reason: 'above high' },
];

describe('CEL rules', () => {
  it('first: the first matching rule decides, and the trace shows what was evaluated', async () => {
    const r = await evaluateRules(rulesOf({ engine: 'cel', rules: list, default: { outcome: 'approve', reason: 'fine' } }), ctx(0.9));
    assert.deepEqual([r.outcome, r.reasons], ['review', ['above low']]);
    assert.deepEqual(r.trace, [{ rule: 'mild', when: 'tasks.s >= thresholds.low', matched: true }]);
  });

  it('collect: every match gives a reason and the most severe outcome wins', async () => {
    const r = await evaluateRules(rulesOf({ engine: 'cel', hitPolicy: 'collect', rules: list, default: { outcome: 'approve' } }), ctx(0.9));
    assert.deepEqual([r.outcome, r.reasons], ['reject', ['above low', 'above high']]);
    const none = await evaluateRules(rulesOf({ engine: 'cel', hitPolicy: 'collect', rules: list, default: { outcome: 'approve', reason: 'fine' } }), ctx(0.1));
    assert.deepEqual([none.outcome, none.reasons], ['approve', ['fine']]);
  });

  it('fails with CAPSTAN_DECISIONS_RULES_FAILED when a rule cannot be evaluated', async () => {
    const rules = rulesOf({ engine: 'cel', rules: [{ name: 'bad', when: 'tasks.s.missing > 1.0', outcome: 'x' }], default: { outcome: 'y' } });
    await assert.rejects(() => evaluateRules(rules, ctx(0.5)), (err) => isCapstanError(err, 'CAPSTAN_DECISIONS_RULES_FAILED') && /^rule bad "tasks.s.missing > 1.0" failed: /.test(err.message));
  });
});

describe('JDM rules', () => {
  const graph = (expression: string) => ({
    nodes: [
      { id: 'i', type: 'inputNode', name: 'in', position: { x: 0, y: 0 } },
      {
        id: 't',
        type: 'decisionTableNode',
        name: 'flags',
        position: { x: 0, y: 0 },
        content: {
          hitPolicy: 'collect',
          outputPath: 'flags',
          inputs: [{ id: 'c1', name: 's', field: 'tasks.s' }],
          outputs: [
            { id: 'o1', name: 'severity', field: 'severity' },
            { id: 'o2', name: 'reason', field: 'reason' },
          ],
          rules: [
            { _id: 'a', c1: '>= thresholds.low', o1: '1', o2: '"above low"' },
            { _id: 'b', c1: '>= thresholds.high', o1: '2', o2: '"above high"' },
          ],
        },
      },
      {
        id: 'x',
        type: 'expressionNode',
        name: 'decide',
        position: { x: 0, y: 0 },
        content: { expressions: [{ id: 'e1', key: 'outcome', value: expression }, { id: 'e2', key: 'reasons', value: 'map(flags, #.reason)' }, { id: 'e3', key: 'flags', value: 'len(flags)' }] },
      },
      { id: 'o', type: 'outputNode', name: 'out', position: { x: 0, y: 0 } },
    ],
    edges: [
      { id: 'e1', sourceId: 'i', targetId: 't', type: 'edge' },
      { id: 'e2', sourceId: 't', targetId: 'x', type: 'edge' },
      { id: 'e3', sourceId: 'x', targetId: 'o', type: 'edge' },
    ],
  });

  it('collects every matching row of a table and decides in an expression node', async () => {
    const rules = rulesOf({ engine: 'jdm', graph: graph('len(flags) == 0 ? "approve" : max(map(flags, #.severity)) == 2 ? "reject" : "review"') });
    const severe = await evaluateRules(rules, ctx(0.9));
    assert.deepEqual([severe.outcome, severe.reasons, severe.output], ['reject', ['above low', 'above high'], { flags: 2 }]);
    assert.deepEqual((await evaluateRules(rules, ctx(0.1))).outcome, 'approve');
  });

  it('fails with CAPSTAN_DECISIONS_RULES_FAILED, naming the node, when the graph cannot be evaluated', async () => {
    const rules = rulesOf({ engine: 'jdm', graph: graph('max(map(flags, #.severity)) == 2 ? "reject" : "review"') });
    await assert.rejects(
      () => evaluateRules(rules, ctx(0.1)),
      (err) => isCapstanError(err, 'CAPSTAN_DECISIONS_RULES_FAILED') && /^the decision graph failed: \{"nodeId":"x"/.test(err.message) && !err.message.includes('\n'),
    );
  });
});
