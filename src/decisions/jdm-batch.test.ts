import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { isCapstanError } from '../core/errors.js';
import { compileUseCase } from './compile-usecase.js';
import { evaluateRules, evaluateRulesMany, type RuleContext } from './evaluate-rules.js';

const example = parse(readFileSync(new URL('../../examples/decisions/transaction-risk.yaml', import.meta.url), 'utf8'));

/** Transactions across every row of the example's table, with features missing or null for some. */
function contexts(n: number): RuleContext[] {
  return Array.from({ length: n }, (_, i) => ({
    input: { transaction_id: `t-${i}`, customer_id: `c-${i % 50}`, amount: (i * 137) % 7000, merchant_risk: 0.1, hour: i % 24, foreign: i % 2 === 0, card_present: true },
    thresholds: example.thresholds,
    tasks: {
      fraud: (i % 101) / 100,
      anomaly: (i % 17) / 16,
      customer: i % 9 === 0 ? {} : { avg_amount_30d: 100, std_amount_30d: 20, tx_count_24h: i % 5, account_age_days: i % 11 === 0 ? null : i % 90, chargebacks_90d: i % 4 },
    },
  }));
}

describe('JDM rules over many contexts at once', () => {
  it('decides every context exactly as one evaluation each would, for a one-table graph evaluated in one call', async () => {
    const rules = compileUseCase(example).rules;
    assert.ok(rules.engine === 'jdm' && rules.batch, 'the example table is evaluated in batches');
    const ctxs = contexts(1500);
    const many = await evaluateRulesMany(rules, ctxs);
    const single = await Promise.all(ctxs.map((c) => evaluateRules(rules, c, false)));
    assert.deepEqual(many, single);
    const outcomes = new Set(single.map((r) => r.outcome));
    assert.deepEqual([...outcomes].sort(), ['approve', 'decline', 'review'], 'every outcome is exercised');
  });

  it('fails only the contexts whose result has no outcome, and decides the others', async () => {
    const def = structuredClone(example);
    const table = def.rules.graph.nodes.find((n: { type: string }) => n.type === 'decisionTableNode');
    // The decline row's outcome comes from the input: a transaction without `label` gets none.
    table.content.rules[0].outcome = 'input.label';
    const rules = compileUseCase(def).rules;
    const ctxs = contexts(40);
    ctxs[0].tasks.fraud = 0.99;
    ctxs[1].tasks.fraud = 0.99;
    ctxs[1].input.label = 'decline';
    const many = await evaluateRulesMany(rules, ctxs);
    assert.ok(isCapstanError(many[0], 'CAPSTAN_DECISIONS_RULES_FAILED') && /no string outcome/.test(many[0].message));
    assert.equal((many[1] as { outcome: string }).outcome, 'decline');
    const single = await Promise.all(ctxs.slice(2).map((c) => evaluateRules(rules, c, false)));
    assert.deepEqual(many.slice(2), single);
  });

  it('evaluates other graph shapes one context at a time, with the same results', async () => {
    const def = structuredClone(example);
    const table = def.rules.graph.nodes.find((n: { type: string }) => n.type === 'decisionTableNode');
    table.content.passThrough = true;
    const rules = compileUseCase(def).rules;
    assert.ok(rules.engine === 'jdm' && rules.batch === undefined);
    const ctxs = contexts(20);
    assert.deepEqual(await evaluateRulesMany(rules, ctxs), await Promise.all(ctxs.map((c) => evaluateRules(rules, c, false))));
  });
});

describe('context paths a table reads', () => {
  it('names each dotted path, and gives up (whole contexts) on $root, a root used whole or an indexed access', async () => {
    const { referencedPaths } = await import('./jdm-batch.js');
    assert.deepEqual(referencedPaths('>= thresholds.high\ntasks.customer.age\nmyinput.x + $.y'), [['thresholds', 'high'], ['tasks', 'customer', 'age']]);
    assert.equal(referencedPaths('$root.input.amount > 1'), undefined);
    assert.equal(referencedPaths('len(tasks) > 1'), undefined);
    assert.equal(referencedPaths('tasks["fraud"] > 1'), undefined);
    assert.equal(referencedPaths('input.items[0] > 1'), undefined);
  });

  it('copies each path down to its value, or whole from the first value that is not a plain object', async () => {
    const { pruneContext } = await import('./jdm-batch.js');
    const ctx = { input: { amount: 5, note: 'x' }, tasks: { fraud: 0.4, list: [1, 2], customer: { age: 3, city: 'y' } }, thresholds: { high: 1 } };
    const paths = [['input', 'amount'], ['tasks', 'list', 'length'], ['tasks', 'fraud', 'x'], ['tasks', 'customer', 'age'], ['tasks', 'missing', 'x'], ['thresholds', 'high']];
    assert.deepEqual(pruneContext(ctx, paths), { input: { amount: 5 }, tasks: { list: [1, 2], fraud: 0.4, customer: { age: 3 } }, thresholds: { high: 1 } });
    assert.deepEqual(pruneContext(ctx, [['tasks', 'customer', 'age'], ['tasks', 'customer']]).tasks, { customer: { age: 3, city: 'y' } });
  });
});
