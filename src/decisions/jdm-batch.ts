import type { ZenDecision, ZenEngine } from '@gorules/zen-engine';

/** The context field the batch graph reads its contexts from, and the one it writes results to. */
export const BATCH_INPUT = '__contexts';
/** Where the batch graph puts one result per context, in order. */
export const BATCH_OUTPUT = '__results';

interface GraphNode {
  id?: string;
  type?: string;
  content?: Record<string, unknown>;
}

/**
 * For a graph that is one decision table between its input and output node (the common shape of a
 * use case's rules), the same graph with the table in ZEN's loop mode over `BATCH_INPUT`: one call
 * evaluates many contexts, which replay needs (a call costs ~40 µs of crossing into the engine and
 * converting values; a table row far less). Undefined for any other shape, or a table that already
 * reads a sub-field, writes to a path, loops or passes its input through, so those are evaluated one
 * context at a time and their results cannot differ from a single evaluation. Contexts are cut to
 * the paths the graph names before they cross into the engine.
 */
export function batchDecision(engine: ZenEngine, graph: { nodes: unknown[]; edges: unknown[] }): BatchDecision | undefined {
  const nodes = graph.nodes as GraphNode[];
  if (nodes.length !== 3 || graph.edges.length !== 2) return undefined;
  const table = nodes.find((n) => n.type === 'decisionTableNode');
  if (!table || !nodes.some((n) => n.type === 'inputNode') || !nodes.some((n) => n.type === 'outputNode')) return undefined;
  const content = table.content ?? {};
  if (content.inputField || content.outputPath || content.passThrough || (content.executionMode !== undefined && content.executionMode !== 'single')) return undefined;
  const edges = graph.edges as { sourceId?: string; targetId?: string }[];
  const input = nodes.find((n) => n.type === 'inputNode')!;
  const output = nodes.find((n) => n.type === 'outputNode')!;
  const chained = edges.some((e) => e.sourceId === input.id && e.targetId === table.id) && edges.some((e) => e.sourceId === table.id && e.targetId === output.id);
  if (!chained) return undefined;
  const looped = { ...table, content: { ...content, executionMode: 'loop', inputField: BATCH_INPUT, outputPath: BATCH_OUTPUT } };
  return { decision: engine.createDecision({ ...graph, nodes: nodes.map((n) => (n === table ? looped : n)) }), paths: referencedPaths(tableExpressions(content)) };
}

/** A batch graph and the context paths its expressions read (undefined: the whole context). */
export interface BatchDecision {
  decision: ZenDecision;
  paths?: string[][];
}

/** Every expression a decision table evaluates: its input fields and its rules' cells (not `_id`, `_description`). */
function tableExpressions(content: Record<string, unknown>): string {
  const inputs = Array.isArray(content.inputs) ? (content.inputs as { field?: unknown }[]).map((i) => i.field) : [];
  const cells = Array.isArray(content.rules) ? (content.rules as Record<string, unknown>[]).flatMap((r) => Object.entries(r).filter(([k]) => !k.startsWith('_')).map(([, v]) => v)) : [];
  return [...inputs, ...cells].map((e) => (typeof e === 'string' ? e : JSON.stringify(e) ?? '')).join('\n');
}

/**
 * The paths into the rule context that a table's expressions name (`tasks.customer.age` → one path), or
 * undefined when it may read the context in a way a path cannot capture (`$root`, a root used whole,
 * an indexed access): then contexts are sent whole. Naming a path too many only sends a value too many.
 */
export function referencedPaths(text: string): string[][] | undefined {
  if (text.includes('$root')) return undefined;
  const paths: string[][] = [];
  const re = /(?<![\w.$])(input|tasks|thresholds)\b((?:\.[A-Za-z_][A-Za-z0-9_]*)*)(.?)/g;
  for (const m of text.matchAll(re)) {
    if (!m[2] || m[3] === '[' || m[3] === '(') return undefined;
    paths.push([m[1], ...m[2].slice(1).split('.')]);
  }
  return paths;
}

/**
 * The part of a context the paths reach: each path copied down to its value, or to the first value
 * on the way that is not a plain object (copied whole), so every expression over those paths reads
 * exactly what it would read in the whole context, and the engine converts far fewer values.
 */
export function pruneContext(ctx: Record<string, unknown>, paths: string[][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of paths) {
    let from: unknown = ctx;
    let to = out;
    for (let i = 0; i < path.length; i++) {
      const key = path[i];
      if (!Object.hasOwn(from as object, key)) break;
      const value = (from as Record<string, unknown>)[key];
      const last = i === path.length - 1;
      if (last || value === null || typeof value !== 'object' || Array.isArray(value)) {
        to[key] = value;
        break;
      }
      if (!Object.hasOwn(to, key) || to[key] === null || typeof to[key] !== 'object') to[key] = {};
      else if (to[key] === value) break;
      from = value;
      to = to[key] as Record<string, unknown>;
    }
  }
  return out;
}
