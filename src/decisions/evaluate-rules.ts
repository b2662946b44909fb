import { CapstanError } from '../core/errors.js';
import type { CompiledUseCase } from './compile-usecase.js';

/** What the rules decided, and why. */
export interface RuleResult {
  outcome: string;
  reasons: string[];
  output: Record<string, unknown>;
  /** CEL: every rule with whether it matched; JDM: each node with its input/output and the table row that fired. */
  trace: unknown[];
}

/** What rules read: the input, the version's thresholds and every task's output. */
export interface RuleContext {
  input: Record<string, unknown>;
  thresholds: Record<string, unknown>;
  tasks: Record<string, unknown>;
}

function celRules(rules: Extract<CompiledUseCase['rules'], { engine: 'cel' }>, ctx: RuleContext): RuleResult {
  const trace: { rule: string; when: string; matched: boolean }[] = [];
  const matched: { outcome: string; reason?: string }[] = [];
  const collect = rules.def.hitPolicy === 'collect';
  for (let i = 0; i < rules.def.rules.length; i++) {
    const rule = rules.def.rules[i];
    const value = rules.when[i].evaluate(ctx as unknown as Record<string, unknown>, 'CAPSTAN_DECISIONS_RULES_FAILED', `rule ${rule.name}`);
    if (typeof value !== 'boolean') throw new CapstanError('CAPSTAN_DECISIONS_RULES_FAILED', `rule ${rule.name} gave ${JSON.stringify(value)}, not a boolean`);
    trace.push({ rule: rule.name, when: rule.when, matched: value });
    if (value) {
      matched.push({ outcome: rule.outcome, reason: rule.reason ?? rule.name });
      if (!collect) break;
    }
  }
  let outcome = rules.def.default.outcome;
  let reasons = rules.def.default.reason ? [rules.def.default.reason] : [];
  if (matched.length > 0) {
    const rank = (o: string) => (rules.severity.includes(o) ? rules.severity.indexOf(o) : rules.severity.length);
    outcome = matched.reduce((best, m) => (rank(m.outcome) < rank(best) ? m.outcome : best), matched[0].outcome);
    reasons = matched.map((m) => m.reason!);
  }
  const output: Record<string, unknown> = {};
  for (const [field, expr] of Object.entries(rules.output)) output[field] = expr.evaluate(ctx as unknown as Record<string, unknown>, 'CAPSTAN_DECISIONS_RULES_FAILED', `output ${field}`);
  return { outcome, reasons, output, trace };
}

async function jdmRules(rules: Extract<CompiledUseCase['rules'], { engine: 'jdm' }>, ctx: RuleContext, withTrace: boolean): Promise<RuleResult> {
  let response;
  try {
    response = await rules.decision.evaluate(ctx, { trace: withTrace });
  } catch (err) {
    // ZEN's message is a JSON line (node, source) followed by a native backtrace: keep the first line.
    throw new CapstanError('CAPSTAN_DECISIONS_RULES_FAILED', `the decision graph failed: ${String((err as Error)?.message ?? err).split('\n')[0].slice(0, 300)}`, { cause: err });
  }
  const { outcome, reasons, ...output } = (response.result ?? {}) as Record<string, unknown>;
  if (typeof outcome !== 'string') throw new CapstanError('CAPSTAN_DECISIONS_RULES_FAILED', `the decision graph gave no string outcome (got ${JSON.stringify(outcome) ?? 'nothing'})`);
  // The input node's output is the whole context, already in the snapshot: kept out of the trace.
  const inputs = new Set((rules.def.graph.nodes as { id?: string; type?: string }[]).filter((n) => n.type === 'inputNode').map((n) => n.id));
  const trace = Object.values(response.trace ?? {})
    .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
    .map((n) => ({ node: n.name, id: n.id, ...(inputs.has(n.id) ? {} : { output: n.output }), ...(n.traceData ? { fired: n.traceData } : {}) }));
  const reasonList = Array.isArray(reasons) ? reasons.map(String) : reasons === undefined || reasons === null ? [] : [String(reasons)];
  return { outcome, reasons: reasonList, output, trace };
}

/** Evaluates a version's rules over one decision's context; CAPSTAN_DECISIONS_RULES_FAILED when they cannot. `trace: false` (replay) skips the JDM node trace. */
export async function evaluateRules(rules: CompiledUseCase['rules'], ctx: RuleContext, trace = true): Promise<RuleResult> {
  return rules.engine === 'cel' ? celRules(rules, ctx) : jdmRules(rules, ctx, trace);
}
