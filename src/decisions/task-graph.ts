/**
 * The dependency graph of a use case's tasks: a task depends on every task its expressions read and
 * on those it lists in `after`. Returns the first cycle found (as a path a → b → a), or none.
 */
export function findCycle(deps: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const seen = state.get(node);
    if (seen === 'done') return undefined;
    if (seen === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of deps.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of deps.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}
