import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isCapstanError } from './errors.js';
import { ExpressionLanguage } from './expressions.js';

describe('expressions (CEL)', () => {
  const language = new ExpressionLanguage({ variables: { metrics: 'map<string, double>' }, maxLength: 50 });

  it('checks an expression to its result type, or a problem with the character position', () => {
    assert.deepEqual(language.check('metrics["auc"] >= 0.8'), { type: 'bool' });
    assert.deepEqual(language.check('metrics["auc"] >= '), { problem: { kind: 'invalid', message: 'Unexpected token: EOF', position: 18 } });
    assert.equal(language.check('nope > 1').problem?.position, 0);
    assert.equal(language.check(`metrics["${'x'.repeat(60)}"] > 1`).problem?.kind, 'length');
  });

  it('compiles once, and refuses an invalid expression with the caller\'s catalogue code, the expression and its position', () => {
    const compiled = language.compile('metrics["auc"] >= 0.8', 'CAPSTAN_REGISTRY_POLICY_INVALID');
    assert.equal(language.compile('metrics["auc"] >= 0.8', 'CAPSTAN_REGISTRY_POLICY_INVALID'), compiled, 'the second compile is the cached program');
    assert.equal(compiled.type, 'bool');
    assert.throws(
      () => language.compile('metrics["auc"] >= ', 'CAPSTAN_REGISTRY_POLICY_INVALID', 'the condition'),
      (err: unknown) =>
        isCapstanError(err, 'CAPSTAN_REGISTRY_POLICY_INVALID') && err.message === 'the condition is not valid CEL: Unexpected token: EOF' && err.fields.position === 18 && err.fields.expression === 'metrics["auc"] >= ',
    );
  });

  it('evaluates against a plain context, and reports a failure as a catalogue error naming the expression', () => {
    const compiled = language.compile('metrics["auc"] >= 0.8', 'CAPSTAN_PIPELINE_CONDITION_FAILED');
    assert.equal(compiled.evaluate({ metrics: { auc: 0.9 } }, 'CAPSTAN_PIPELINE_CONDITION_FAILED'), true);
    assert.equal(compiled.evaluate({ metrics: { auc: 0.5, skipped: undefined } }, 'CAPSTAN_PIPELINE_CONDITION_FAILED'), false);
    assert.throws(
      () => compiled.evaluate({ metrics: {} }, 'CAPSTAN_PIPELINE_CONDITION_FAILED', 'condition'),
      (err: unknown) => isCapstanError(err, 'CAPSTAN_PIPELINE_CONDITION_FAILED') && /^condition "metrics\[\\"auc\\"\] >= 0.8" failed: No such key: auc/.test(err.message) && typeof err.fields.position === 'number',
    );
  });

  it('treats an undefined field as absent, deep inside the context too, and leaves the caller\'s context as it was', () => {
    const dyn = new ExpressionLanguage({ variables: { m: 'map<string, dyn>' } });
    const has = dyn.compile('has(m.a.b) || size(m.list) > 2', 'CAPSTAN_PIPELINE_CONDITION_FAILED');
    assert.equal(has.evaluate({ m: { a: { b: undefined }, list: [1, 2] } }, 'CAPSTAN_PIPELINE_CONDITION_FAILED'), false);
    assert.equal(has.evaluate({ m: { a: { b: 1 }, list: [1, 2] } }, 'CAPSTAN_PIPELINE_CONDITION_FAILED'), true);
    const context = { m: { a: { b: undefined, c: 1 }, list: [1, 2, 3] } };
    assert.equal(has.evaluate(context, 'CAPSTAN_PIPELINE_CONDITION_FAILED'), true);
    assert.deepEqual(Object.keys(context.m.a), ['b', 'c'], 'the context is not stripped in place');
  });

  it('is the only module that uses the CEL library', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const users = (readdirSync(root, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .filter((f) => readFileSync(path.join(root, f), 'utf8').includes("from '@marcbachmann/cel-js'"));
    assert.deepEqual(users, [path.join('core', 'expressions.ts')]);
  });
});
