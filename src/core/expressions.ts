import { Environment } from '@marcbachmann/cel-js';
import { CapstanError, type ErrorCode } from './errors.js';

/**
 * The one home of user-written expressions (CEL): pipeline conditions, registry approval policies,
 * and the decision rules and rollout alarms to come. CEL is not Turing complete and never runs host
 * code, which is why it, and never `eval`, decides what users' conditions decide. Each use declares
 * its variables once; expressions compile once and evaluate against a plain context.
 */

/** Parser limits; each bounds what one expression may cost. */
export interface ExpressionLimits {
  maxAstNodes?: number;
  maxDepth?: number;
  maxListElements?: number;
  maxMapEntries?: number;
  maxCallArguments?: number;
}

/** How an expression language is declared. */
export interface ExpressionLanguageOptions {
  /** Variables by name → CEL type (`map`, `map<string, double>`, or a type declared in `types`). */
  variables: Record<string, string>;
  /** Object types by name → their fields' CEL types, for typed checks; default none. */
  types?: Record<string, Record<string, string>>;
  /** Longest expression accepted; default 4096 characters. */
  maxLength?: number;
  /** Default 2000 AST nodes and depth 64. */
  limits?: ExpressionLimits;
  /** List and map literals must have one element type; default true. False lets a literal build a JSON body (`{"a": input.x, "b": 1.0}`). */
  homogeneousLiterals?: boolean;
}

/** Why an expression was refused, and where: `position` is the 0-based character offset when known. */
export interface ExpressionProblem {
  /** `length`: longer than allowed; `invalid`: does not parse or type-check. */
  kind: 'length' | 'invalid';
  message: string;
  position?: number;
}

/** The outcome of a check: the result type, or the problem. */
export type ExpressionCheck = { type: string; problem?: undefined } | { problem: ExpressionProblem; type?: undefined };

/** An expression compiled once, evaluated many times. */
export interface CompiledExpression {
  readonly source: string;
  /** The result type the check found (`bool`, `double`, `dyn`, …). */
  readonly type: string;
  /**
   * Evaluates against `context` (one value per declared variable); a failure (a missing key, a type
   * error at run time) throws CapstanError `code` whose detail is `<what> "<source>" failed: …`,
   * with `expression` and `position` fields.
   */
  evaluate(context: Record<string, unknown>, code: ErrorCode, what?: string): unknown;
}

const MAX_CACHED = 1000;

/** A CEL environment with its declared variables, caching what it compiled. */
export class ExpressionLanguage {
  private readonly env: Environment;
  private readonly maxLength: number;
  private readonly compiled = new Map<string, CompiledExpression>();

  constructor(options: ExpressionLanguageOptions) {
    this.maxLength = options.maxLength ?? 4096;
    let env = new Environment({ unlistedVariablesAreDyn: false, homogeneousAggregateLiterals: options.homogeneousLiterals ?? true, limits: { maxAstNodes: 2000, maxDepth: 64, ...options.limits } });
    for (const [name, fields] of Object.entries(options.types ?? {})) env = env.registerType(name, { fields });
    for (const [name, type] of Object.entries(options.variables)) env = env.registerVariable(name, type);
    this.env = env;
  }

  /** Parses and type-checks; never throws. */
  check(expression: string): ExpressionCheck {
    if (expression.length > this.maxLength) return { problem: { kind: 'length', message: `the expression is longer than ${this.maxLength} characters` } };
    let result: { valid: boolean; type?: string; error?: Error };
    try {
      result = this.env.check(expression) as typeof result;
    } catch (err) {
      return { problem: problemOf(err) };
    }
    if (!result.valid) return { problem: problemOf(result.error) };
    return { type: result.type ?? 'dyn' };
  }

  /**
   * Compiles an expression that must check; a refused one throws CapstanError `code` with detail
   * `<what> is not valid CEL: …` and `expression` and `position` fields.
   */
  compile(expression: string, code: ErrorCode, what = 'the expression'): CompiledExpression {
    const cached = this.compiled.get(expression);
    if (cached) return cached;
    const checked = this.check(expression);
    if (checked.problem) {
      throw new CapstanError(code, checked.problem.kind === 'length' ? `${what} is longer than ${this.maxLength} characters` : `${what} is not valid CEL: ${checked.problem.message}`, { fields: { expression: clip(expression), position: checked.problem.position } });
    }
    const program = this.env.parse(expression);
    const compiled: CompiledExpression = {
      source: expression,
      type: checked.type,
      evaluate: (context, errorCode, label = 'expression') => {
        try {
          return program(toCel(context) as Record<string, unknown>);
        } catch (err) {
          const problem = problemOf(err);
          throw new CapstanError(errorCode, `${label} ${JSON.stringify(expression)} failed: ${problem.message}`, { cause: err, fields: { expression: clip(expression), position: problem.position } });
        }
      },
    };
    if (this.compiled.size >= MAX_CACHED) this.compiled.clear();
    this.compiled.set(expression, compiled);
    return compiled;
  }
}

/** CEL wants plain data: undefined dropped, other objects as their own enumerable fields. */
function toCel(value: unknown): unknown {
  // A context is evaluated by several expressions per decision; copying it each time cost more than
  // evaluating them, and contexts built from JSON are already plain.
  return isPlain(value) ? value : plainCopy(value);
}

function plainCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainCopy);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, plainCopy(v)]));
  }
  return value;
}

/** True when `value` holds only JSON-like data: no undefined and no object other than plain ones and arrays. */
function isPlain(value: unknown): boolean {
  if (value === undefined) return false;
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlain(value[i])) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) if (!isPlain((value as Record<string, unknown>)[key])) return false;
  return true;
}

function problemOf(err: unknown): ExpressionProblem {
  const message = String((err as Error)?.message ?? err).split('\n')[0].trim().slice(0, 300);
  const pos = (err as { node?: { pos?: unknown } } | undefined)?.node?.pos;
  return typeof pos === 'number' ? { kind: 'invalid', message, position: pos } : { kind: 'invalid', message };
}

function clip(expression: string): string {
  return expression.length > 200 ? `${expression.slice(0, 200)}…` : expression;
}
