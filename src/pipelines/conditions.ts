import { CapstanError } from '../core/errors.js';
import { ExpressionLanguage } from '../core/expressions.js';
import type { ParameterDefinition } from './definition.js';

/**
 * Conditions are CEL expressions (core/expressions) over two variables: `params` (the execution's
 * parameters) and `steps` (`steps.<name>.properties…`, `.metrics…`, `.outputs.<name>`).
 */
const conditions = new ExpressionLanguage({ variables: { params: 'map', steps: 'map' } });

/** Checks an expression at validation time; returns an error message, or undefined when it is fine. */
export function checkCondition(expression: string): string | undefined {
  const result = conditions.check(expression);
  if (result.problem) {
    if (result.problem.kind === 'length') return result.problem.message;
    return `not a valid CEL expression: ${result.problem.message}${result.problem.position === undefined ? '' : ` (at character ${result.problem.position + 1})`}`;
  }
  if (result.type !== 'bool' && result.type !== 'dyn') return `the expression has type ${result.type}; a condition must be a boolean`;
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
  let result;
  try {
    result = new ExpressionLanguage({
      types: { CapstanParams: fields, CapstanStep: { properties: 'map', metrics: 'map<string, double>', outputs: 'map<string, string>' } },
      variables: { params: 'CapstanParams', steps: 'map<string, CapstanStep>' },
    }).check(expression);
  } catch {
    return undefined;
  }
  // Runtime numbers are doubles either way, so the typed check may refuse `params.n == 1`, which runs fine: only its type counts.
  if (result.problem || result.type === 'bool' || result.type === 'dyn') return undefined;
  return `the expression has type ${result.type}; a condition must be a boolean (compare the value with ==, >, …)`;
}

/** Evaluates a condition; anything but a boolean result is CAPSTAN_PIPELINE_CONDITION_NOT_BOOLEAN. */
export function evaluateCondition(expression: string, vars: { params: Record<string, unknown>; steps: Record<string, unknown> }): boolean {
  const value = conditions.compile(expression, 'CAPSTAN_PIPELINE_CONDITION_FAILED', 'condition').evaluate(vars, 'CAPSTAN_PIPELINE_CONDITION_FAILED', 'condition');
  if (typeof value !== 'boolean') {
    throw new CapstanError('CAPSTAN_PIPELINE_CONDITION_NOT_BOOLEAN', `condition ${JSON.stringify(expression)} evaluated to ${describe(value)}, not a boolean`);
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
