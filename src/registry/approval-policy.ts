import { CapstanError } from '../core/errors.js';
import { ExpressionLanguage } from '../core/expressions.js';
import type { ApprovalPolicy } from './registry-service.js';

/** Longest auto-approval condition accepted. */
const MAX_CONDITION_LENGTH = 2000;

/**
 * Auto-approval conditions are CEL expressions (core/expressions) over `metrics` (map of string →
 * double), `params` and `tags` (maps of string → string).
 */
const policies = new ExpressionLanguage({
  variables: { metrics: 'map<string, double>', params: 'map<string, string>', tags: 'map<string, string>' },
  maxLength: MAX_CONDITION_LENGTH,
  limits: { maxAstNodes: 500, maxDepth: 32, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 8 },
});

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
  const compiled = policies.compile(condition, 'CAPSTAN_REGISTRY_POLICY_INVALID', 'the condition');
  if (compiled.type !== 'bool' && compiled.type !== 'dyn') {
    throw new CapstanError('CAPSTAN_REGISTRY_POLICY_INVALID', `the condition must yield a bool, not ${compiled.type}`, { fields: { expression: condition } });
  }
  return { autoApprove: condition };
}

/** Evaluates a policy against a version; errors (a metric the version lacks) count as "not approved". */
export function evaluateApprovalPolicy(policy: ApprovalPolicy, subject: PolicySubject): PolicyOutcome {
  try {
    const value = policies.compile(policy.autoApprove, 'CAPSTAN_REGISTRY_POLICY_INVALID', 'the condition').evaluate(subject as unknown as Record<string, unknown>, 'CAPSTAN_REGISTRY_POLICY_INVALID', 'condition');
    if (value === true) return { approve: true, reason: `condition holds: ${policy.autoApprove}` };
    return { approve: false, reason: `condition is false: ${policy.autoApprove}` };
  } catch (err) {
    return { approve: false, reason: `condition could not be evaluated (${firstLine((err as Error).cause ?? err)}): ${policy.autoApprove}` };
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0].slice(0, 300);
}
