import { Environment } from '@marcbachmann/cel-js';
import { CapstanError } from '../core/errors.js';
import type { ApprovalPolicy } from './registry-service.js';

/** Longest auto-approval condition accepted. */
const MAX_CONDITION_LENGTH = 2000;

/**
 * The CEL environment of auto-approval conditions: `metrics` (map of string → double), `params` and
 * `tags` (maps of string → string). CEL is not Turing-complete and cannot reach the process, which is
 * why conditions written by users are evaluated with it and never with `eval`.
 */
function environment(): Environment {
  return new Environment({ limits: { maxAstNodes: 500, maxDepth: 32, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 8 } })
    .registerVariable('metrics', 'map<string, double>')
    .registerVariable('params', 'map<string, string>')
    .registerVariable('tags', 'map<string, string>');
}

const env = environment();

/** What a condition sees of a version. */
export interface PolicySubject {
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

/** The outcome of evaluating a policy: approved or not, and why not. */
export interface PolicyOutcome {
  approve: boolean;
  /** Why the version was not approved (condition false, or an evaluation error such as a missing metric). */
  reason: string;
}

/** Checks a policy: the condition parses, type-checks over metrics/params/tags and yields a bool. */
export function compileApprovalPolicy(policy: unknown): ApprovalPolicy {
  const p = policy as ApprovalPolicy | null;
  if (!p || typeof p !== 'object' || typeof p.autoApprove !== 'string' || p.autoApprove.trim() === '') {
    throw new CapstanError('CAPSTAN_REGISTRY_POLICY_INVALID', 'an approval policy needs "autoApprove": a CEL condition such as metrics["hr@10"] >= 0.6');
  }
  const condition = p.autoApprove.trim();
  if (condition.length > MAX_CONDITION_LENGTH) throw new CapstanError('CAPSTAN_REGISTRY_POLICY_INVALID', `the condition is longer than ${MAX_CONDITION_LENGTH} characters`);
  let result;
  try {
    result = env.check(condition);
  } catch (err) {
    throw new CapstanError('CAPSTAN_REGISTRY_POLICY_INVALID', `the condition is not valid CEL: ${firstLine(err)}`, { cause: err });
  }
  if (!result.valid) throw new CapstanError('CAPSTAN_REGISTRY_POLICY_INVALID', `the condition is not valid CEL: ${firstLine(result.error)}`);
  if (result.type !== 'bool' && result.type !== 'dyn') {
    throw new CapstanError('CAPSTAN_REGISTRY_POLICY_INVALID', `the condition must yield a bool, not ${result.type}`);
  }
  return { autoApprove: condition };
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0].slice(0, 300);
}

/** Evaluates a policy against a version; errors (a metric the version lacks) count as "not approved". */
export function evaluateApprovalPolicy(policy: ApprovalPolicy, subject: PolicySubject): PolicyOutcome {
  try {
    const value = env.evaluate(policy.autoApprove, { metrics: subject.metrics, params: subject.params, tags: subject.tags });
    if (value === true) return { approve: true, reason: `condition holds: ${policy.autoApprove}` };
    return { approve: false, reason: `condition is false: ${policy.autoApprove}` };
  } catch (err) {
    return { approve: false, reason: `condition could not be evaluated (${firstLine(err)}): ${policy.autoApprove}` };
  }
}
