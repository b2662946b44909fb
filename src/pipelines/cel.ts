import { Environment } from '@marcbachmann/cel-js';
import { CapstanError } from '../core/errors.js';
import type { ParameterDefinition } from './definition.js';

/**
 * Conditions are CEL expressions over two variables: `params` (the execution's parameters) and
 * `steps` (`steps.<name>.properties…`, `.metrics…`, `.outputs.<name>`). CEL is not Turing complete
 * and never runs host code, which is why it, and never `eval`, decides branches.
 */

const MAX_EXPRESSION = 4096;

function environment(): Environment {
  return new Environment({ unlistedVariablesAreDyn: false, limits: { maxAstNodes: 2000, maxDepth: 64 } })
    .registerVariable('params', 'map')
    .registerVariable('steps', 'map');
}

const env = environment();

/** Checks an expression at validation time; returns an error message, or undefined when it is fine. */
export function checkCondition(expression: string): string | undefined {
  if (expression.length > MAX_EXPRESSION) return `the expression is longer than ${MAX_EXPRESSION} characters`;
  let result: { valid: boolean; type?: string; error?: Error };
  try {
    result = env.check(expression) as typeof result;
  } catch (err) {
    return firstLine((err as Error).message);
  }
  if (!result.valid) return `not a valid CEL expression: ${firstLine(result.error?.message ?? 'invalid')}`;
  if (result.type && result.type !== 'bool' && result.type !== 'dyn') return `the expression has type ${result.type}; a condition must be a boolean`;
  return undefined;
}

const CEL_TYPES: Record<ParameterDefinition['type'], string> = { string: 'string', boolean: 'bool', integer: 'double', number: 'double' };

/**
 * The result type of an expression once the pipeline's declared parameters and the step fields with
 * a known type (metrics are numbers, outputs are URIs) are typed: `params.threshold` alone is a
 * double, not a boolean, which the untyped check cannot see. Returns a message for a result that is
 * certainly not a boolean; an expression the typed check cannot judge is left to the untyped one.
 */
export function checkConditionType(expression: string, parameters: Record<string, ParameterDefinition>): string | undefined {
  const fields = Object.fromEntries(Object.entries(parameters).map(([name, p]) => [name, CEL_TYPES[p.type]]));
  let result: { valid: boolean; type?: string };
  try {
    result = new Environment({ unlistedVariablesAreDyn: false, limits: { maxAstNodes: 2000, maxDepth: 64 } })
      .registerType('CapstanParams', { fields })
      .registerType('CapstanStep', { fields: { properties: 'map', metrics: 'map<string, double>', outputs: 'map<string, string>' } })
      .registerVariable('params', 'CapstanParams')
      .registerVariable('steps', 'map<string, CapstanStep>')
      .check(expression) as typeof result;
  } catch {
    return undefined;
  }
  // Runtime numbers are doubles either way, so the typed check may refuse `params.n == 1`, which runs fine: only its type counts.
  if (!result.valid || !result.type || result.type === 'bool' || result.type === 'dyn') return undefined;
  return `the expression has type ${result.type}; a condition must be a boolean (compare the value with ==, >, …)`;
}

/** Evaluates a condition; anything but a boolean result is CAPSTAN_PIPELINE_CONDITION_NOT_BOOLEAN. */
export function evaluateCondition(expression: string, vars: { params: Record<string, unknown>; steps: Record<string, unknown> }): boolean {
  let value: unknown;
  try {
    value = env.evaluate(expression, { params: toCel(vars.params), steps: toCel(vars.steps) });
  } catch (err) {
    throw new CapstanError('CAPSTAN_PIPELINE_CONDITION_FAILED', `condition ${JSON.stringify(expression)} failed: ${firstLine((err as Error).message)}`, { cause: err });
  }
  if (typeof value !== 'boolean') {
    throw new CapstanError('CAPSTAN_PIPELINE_CONDITION_NOT_BOOLEAN', `condition ${JSON.stringify(expression)} evaluated to ${describe(value)}, not a boolean`);
  }
  return value;
}

/** CEL wants plain data: drop undefined, keep numbers as doubles. */
function toCel(value: unknown): any {
  if (Array.isArray(value)) return value.map(toCel);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toCel(v)]));
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `the integer ${value}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'a map';
  return `${typeof value} ${String(value)}`;
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}
