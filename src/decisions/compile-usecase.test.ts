import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapstanError } from '../core/errors.js';
import { compileUseCase } from './compile-usecase.js';
import { findCycle } from './task-graph.js';

const base = () => ({
  name: 'u',
  input: { schema: { type: 'object' } },
  tasks: [] as unknown[],
  rules: { engine: 'cel', rules: [], default: { outcome: 'approve' } } as Record<string, unknown>,
});

function problems(def: unknown): string[] {
  try {
    compileUseCase(def);
  } catch (err) {
    assert.ok(isCapstanError(err, 'CAPSTAN_DECISIONS_USECASE_INVALID'), String(err));
    return err.fields.problems as string[];
  }
  assert.fail('expected the definition to be refused');
}

describe('compileUseCase', () => {
  it('fills the defaults of a minimal definition', () => {
    const uc = compileUseCase({ ...base(), tasks: [{ name: 'x', type: 'cel', expression: 'input.a' }] });
    assert.deepEqual([uc.deadlineMs, uc.retentionDays, uc.thresholds], [5000, 90, {}]);
    assert.deepEqual([uc.tasks[0].timeoutMs, uc.tasks[0].retries, uc.tasks[0].onFailure, uc.tasks[0].default], [1000, 0, 'fail', null]);
  });

  it('derives dependencies from the expressions and after', () => {
    const uc = compileUseCase({
      ...base(),
      tasks: [
        { name: 'a', type: 'cel', expression: '1.0' },
        { name: 'b', type: 'cel', expression: '2.0' },
        { name: 'c', type: 'cel', expression: 'tasks.a + tasks["b"]', after: ['a'] },
      ],
    });
    assert.deepEqual(uc.tasks[2].dependsOn.sort(), ['a', 'b']);
  });

  it('lists every problem at once', () => {
    assert.deepEqual(
      problems({
        name: 'Bad Name',
        input: { schema: { type: 'nonsense' } },
        thresholds: { x: [1] },
        tasks: [
          { name: 'a', type: 'teleport' },
          { name: 'b', type: 'endpoint', request: '{}', retries: 9 },
          { name: 'c', type: 'features', features: ['nocolon'], entity: {} },
        ],
        rules: { engine: 'dmn' },
      }),
      [
        "use-case name \"Bad Name\" is not valid: use 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit, and no '..'",
        'input.schema is not a valid JSON Schema: schema is invalid: data/type must be equal to one of the allowed values, data/type must be array, data/type must match a schema in anyOf',
        'thresholds must map names to numbers, strings or booleans',
        'task a: type must be one of endpoint, features, lookup, http, cel, got "teleport"',
        'task b: retries must be an integer from 0 to 5',
        'task b: endpoint must name an endpoint',
        "task c: features must be a non-empty list of 'group:feature' references",
        'task c: entity must map each join key to a CEL expression',
        'rules.engine must be cel or jdm, got "dmn"',
      ],
    );
  });

  it('refuses a reserved name, a non-boolean rule and an output reading an unknown task', () => {
    assert.deepEqual(problems({ ...base(), name: 'records' }), ['name records is reserved by the decisions API; choose another']);
    assert.deepEqual(problems({ ...base(), rules: { engine: 'cel', rules: [{ name: 'r', when: '1.0 + 2.0', outcome: 'x' }], default: { outcome: 'y' } } }), ['rule r when must be a boolean expression, it is double']);
    assert.deepEqual(problems({ ...base(), rules: { engine: 'cel', rules: [], default: { outcome: 'y' }, output: { s: 'tasks.nope' } } }), ['the rules read tasks.nope, but no task is named nope']);
  });

  it('refuses a JDM graph that does not parse', () => {
    const [p] = problems({ ...base(), rules: { engine: 'jdm', graph: { nodes: [{ type: 'inputNode' }], edges: [] } } });
    assert.match(p, /^rules\.graph is not a valid JDM graph: /);
  });
});

describe('findCycle', () => {
  it('finds a cycle as a path, and none in a DAG', () => {
    assert.deepEqual(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]])), ['a', 'b', 'c', 'a']);
    assert.equal(findCycle(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]])), undefined);
  });
});
