import { ExpressionLanguage } from '../core/expressions.js';

/**
 * The CEL environment of decisions: every expression sees the decision `input`, the version's
 * `thresholds`, the outputs of earlier `tasks`, and (in an endpoint or HTTP task's `output`) the
 * `response`. One environment for all, so an expression compiles once per process.
 */
export const decisionExpressions = new ExpressionLanguage({
  variables: { input: 'map', thresholds: 'map', tasks: 'map', response: 'dyn' },
  // Request expressions build JSON bodies whose fields differ in type.
  homogeneousLiterals: false,
});

/** Names of the tasks an expression reads (`tasks.x`, `tasks["x"]`, `has(tasks.x)`). */
export function taskReferences(source: string): string[] {
  const out = new Set<string>();
  for (const m of source.matchAll(/\btasks\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)/g)) out.add(m[1]);
  for (const m of source.matchAll(/\btasks\s*\[\s*["']([^"']+)["']\s*\]/g)) out.add(m[1]);
  return [...out];
}
