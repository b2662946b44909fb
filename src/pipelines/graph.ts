import { isCommandStep, type StepDefinition } from './definition.js';
import { referencedSteps } from './references.js';

/**
 * The step graph: edges come from explicit `depends_on`, from `${steps.x…}` references, and from
 * condition branches (a step listed in `then`/`else` depends on the condition). Validation and the
 * scheduler read the same graph so they can never disagree about order.
 */
export interface StepGraph {
  /** step → the steps it waits for. */
  dependencies: Map<string, Set<string>>;
  /** step → the condition step and branch that guard it (`then` | `else`). */
  guards: Map<string, { condition: string; branch: 'then' | 'else' }[]>;
}

/** The fields of a step that may carry references. */
export function referenceFields(step: StepDefinition): unknown {
  if (isCommandStep(step)) return { inputs: step.inputs, hyperparameters: step.hyperparameters, env: step.env, command: step.command };
  switch (step.type) {
    case 'register-model':
      return { model_data: step.modelData, metadata: step.metadata, description: step.description };
    case 'deploy':
      return { version: step.version, alias: step.alias, config: step.config };
    case 'transform':
      return { version: step.version, alias: step.alias, input: step.input, output: step.output, config: step.config };
    case 'function':
      return { args: step.args, inputs: step.inputs };
    case 'fail':
      return { message: step.message };
    default:
      return {};
  }
}

/** Steps a CEL condition reads (`steps.train…` or `steps["check-auc"]…`); they become its dependencies. */
export function conditionSteps(expression: string): Set<string> {
  const out = new Set<string>();
  for (const m of expression.matchAll(/\bsteps\s*\.\s*([A-Za-z0-9_]+)/g)) out.add(m[1]);
  for (const m of expression.matchAll(/\bsteps\s*\[\s*["']([^"']+)["']\s*\]/g)) out.add(m[1]);
  return out;
}

/** Builds the graph of a definition (unknown names are kept so validation can report them). */
export function buildGraph(steps: StepDefinition[]): StepGraph {
  const dependencies = new Map<string, Set<string>>();
  const guards = new Map<string, { condition: string; branch: 'then' | 'else' }[]>();
  for (const s of steps) {
    const fromCel = s.type === 'condition' ? conditionSteps(s.if) : [];
    dependencies.set(s.name, new Set([...s.dependsOn, ...referencedSteps(referenceFields(s)), ...fromCel]));
  }
  for (const s of steps) {
    if (s.type !== 'condition') continue;
    for (const [branch, names] of [['then', s.then], ['else', s.else]] as const) {
      for (const n of names) {
        dependencies.get(n)?.add(s.name);
        if (!guards.has(n)) guards.set(n, []);
        guards.get(n)!.push({ condition: s.name, branch });
      }
    }
  }
  // Metrics of register-model default to every upstream step, which needs no extra edges.
  for (const s of steps) if (s.type === 'register-model') for (const m of s.metricsFrom ?? []) dependencies.get(s.name)?.add(m);
  return { dependencies, guards };
}

/** One cycle (as a list of names, first repeated at the end), or undefined when the graph is acyclic. */
export function findCycle(dependencies: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done' || !dependencies.has(n)) return undefined;
    if (state.get(n) === 'visiting') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'visiting');
    stack.push(n);
    for (const d of dependencies.get(n)!) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of dependencies.keys()) {
    const c = visit(n);
    if (c) return c.reverse();
  }
  return undefined;
}

/** Every step `name` transitively waits for. */
export function ancestors(dependencies: Map<string, Set<string>>, name: string): Set<string> {
  const out = new Set<string>();
  const walk = (n: string) => {
    for (const d of dependencies.get(n) ?? []) {
      if (out.has(d)) continue;
      out.add(d);
      walk(d);
    }
  };
  walk(name);
  return out;
}
