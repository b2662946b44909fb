import type { ZenEngineResponse } from '@gorules/zen-engine';
import { CapstanError, isCapstanError } from '../core/errors.js';
import type { CompiledUseCase } from './compile-usecase.js';
import { BATCH_INPUT, BATCH_OUTPUT, pruneContext } from './jdm-batch.js';

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

type JdmCompiled = Extract<CompiledUseCase['rules'], { engine: 'jdm' }>;

/** ZEN's message is a JSON line (node, source) followed by a native backtrace: the first line is kept. */
function graphFailed(err: unknown): CapstanError {
  return new CapstanError('CAPSTAN_DECISIONS_RULES_FAILED', `the decision graph failed: ${String((err as Error)?.message ?? err).split('\n')[0].slice(0, 300)}`, { cause: err });
}

/** A graph's result and trace as a RuleResult; CAPSTAN_DECISIONS_RULES_FAILED without a string outcome. */
function jdmResult(rules: JdmCompiled, result: unknown, rawTrace: ZenEngineResponse['trace']): RuleResult {
  const { outcome, reasons, ...output } = (result ?? {}) as Record<string, unknown>;
  if (typeof outcome !== 'string') throw new CapstanError('CAPSTAN_DECISIONS_RULES_FAILED', `the decision graph gave no string outcome (got ${JSON.stringify(outcome) ?? 'nothing'})`);
  // The input node's output is the whole context, already in the snapshot: kept out of the trace.
  const inputs = new Set((rules.def.graph.nodes as { id?: string; type?: string }[]).filter((n) => n.type === 'inputNode').map((n) => n.id));
  const trace = Object.values(rawTrace ?? {})
    .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
    .map((n) => ({ node: n.name, id: n.id, ...(inputs.has(n.id) ? {} : { output: n.output }), ...(n.traceData ? { fired: n.traceData } : {}) }));
  const reasonList = Array.isArray(reasons) ? reasons.map(String) : reasons === undefined || reasons === null ? [] : [String(reasons)];
  return { outcome, reasons: reasonList, output, trace };
}

async function jdmRules(rules: JdmCompiled, ctx: RuleContext, withTrace: boolean): Promise<RuleResult> {
  let response;
  try {
    response = await rules.decision.evaluate(ctx, { trace: withTrace });
  } catch (err) {
    throw graphFailed(err);
  }
  return jdmResult(rules, response.result, response.trace);
}

/** One context's rule result, or the error its evaluation ended with. */
async function settle(rules: CompiledUseCase['rules'], ctx: RuleContext): Promise<RuleResult | CapstanError> {
  try {
    return await evaluateRules(rules, ctx, false);
  } catch (err) {
    return isCapstanError(err) ? err : graphFailed(err);
  }
}

/**
 * Evaluates a version's rules over many contexts without traces (replay): a graph of one decision
 * table in one engine call for all of them (each context cut to the paths the table reads), anything else one context at a time. Each context gets
 * its result or its error; when the batched call fails as a whole, every context is evaluated alone,
 * so one bad record fails only itself, as it would in a single evaluation.
 */
export async function evaluateRulesMany(rules: CompiledUseCase['rules'], ctxs: RuleContext[]): Promise<(RuleResult | CapstanError)[]> {
  if (rules.engine === 'jdm' && rules.batch && ctxs.length > 1) {
    let results: unknown[] | undefined;
    try {
      const { decision, paths } = rules.batch;
      const response = await decision.evaluate({ [BATCH_INPUT]: paths ? ctxs.map((c) => pruneContext(c as unknown as Record<string, unknown>, paths)) : ctxs });
      const list = (response.result as Record<string, unknown> | undefined)?.[BATCH_OUTPUT];
      if (Array.isArray(list) && list.length === ctxs.length) results = list;
    } catch {
      results = undefined;
    }
    if (results) {
      return results.map((r) => {
        try {
          return jdmResult(rules, r, undefined);
        } catch (err) {
          return err as CapstanError;
        }
      });
    }
  }
  return Promise.all(ctxs.map((ctx) => settle(rules, ctx)));
}

/** Evaluates a version's rules over one decision's context; CAPSTAN_DECISIONS_RULES_FAILED when they cannot. `trace: false` (replay) skips the JDM node trace. */
export async function evaluateRules(rules: CompiledUseCase['rules'], ctx: RuleContext, trace = true): Promise<RuleResult> {
  return rules.engine === 'cel' ? celRules(rules, ctx) : jdmRules(rules, ctx, trace);
}
