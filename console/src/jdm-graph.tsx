// A JDM (GoRules ZEN) decision graph drawn as SVG: nodes at their authored positions (or in layers
// when the graph has none), edges as lines, and the nodes a decision's trace went through highlighted.

interface JdmNode {
  id: string;
  name?: string;
  type?: string;
  position?: { x: number; y: number };
}

interface JdmEdge {
  id?: string;
  sourceId: string;
  targetId: string;
}

/** The graph part of a JDM document. */
export interface JdmGraphContent {
  nodes: unknown[];
  edges: unknown[];
}

const W = 150;
const H = 44;

/** Node positions: authored ones when every node has one, else columns by longest path from a source. */
function layout(nodes: JdmNode[], edges: JdmEdge[]): Map<string, { x: number; y: number }> {
  const out = new Map<string, { x: number; y: number }>();
  if (nodes.every((n) => n.position && Number.isFinite(n.position.x) && Number.isFinite(n.position.y))) {
    for (const n of nodes) out.set(n.id, { x: n.position!.x, y: n.position!.y });
    return out;
  }
  const depth = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  // Longest-path layering; the bound on passes keeps a cyclic (invalid) graph from looping forever.
  for (let pass = 0; pass < nodes.length; pass++) {
    let moved = false;
    for (const e of edges) {
      const d = (depth.get(e.sourceId) ?? 0) + 1;
      if (depth.has(e.targetId) && d > depth.get(e.targetId)!) {
        depth.set(e.targetId, d);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const rows = new Map<number, number>();
  for (const n of nodes) {
    const d = depth.get(n.id) ?? 0;
    const r = rows.get(d) ?? 0;
    rows.set(d, r + 1);
    out.set(n.id, { x: d * (W + 60), y: r * (H + 30) });
  }
  return out;
}

/** The decision graph with the traced nodes (and the edges between two of them) highlighted. */
export function JdmGraph({ graph, taken }: { graph: JdmGraphContent; taken: Set<string> }) {
  const nodes = (graph.nodes as JdmNode[]).filter((n) => n && typeof n.id === 'string');
  const edges = (graph.edges as JdmEdge[]).filter((e) => e && typeof e.sourceId === 'string' && typeof e.targetId === 'string');
  if (nodes.length === 0) return null;
  const pos = layout(nodes, edges);
  const xs = [...pos.values()].map((p) => p.x);
  const ys = [...pos.values()].map((p) => p.y);
  const [minX, minY] = [Math.min(...xs), Math.min(...ys)];
  const pad = 12;
  const at = (id: string) => {
    const p = pos.get(id)!;
    return { x: p.x - minX + pad, y: p.y - minY + pad };
  };
  const width = Math.max(...xs) - minX + W + 2 * pad;
  const height = Math.max(...ys) - minY + H + 2 * pad;
  return (
    <figure className="chart" data-testid="jdm-graph">
      <figcaption>Decision graph (highlighted: nodes this decision went through)</figcaption>
      <svg width={width} height={height} role="img" aria-label="decision graph">
        <defs>
          <marker id="jdm-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b" />
          </marker>
        </defs>
        {edges.map((e, i) => {
          if (!pos.has(e.sourceId) || !pos.has(e.targetId)) return null;
          const a = at(e.sourceId);
          const b = at(e.targetId);
          const hot = taken.has(e.sourceId) && taken.has(e.targetId);
          return <line key={e.id ?? i} x1={a.x + W} y1={a.y + H / 2} x2={b.x} y2={b.y + H / 2} stroke={hot ? '#16a34a' : '#94a3b8'} strokeWidth={hot ? 3 : 1.5} markerEnd="url(#jdm-arrow)" data-testid="jdm-edge" data-taken={hot ? 'true' : 'false'} />;
        })}
        {nodes.map((n) => {
          const p = at(n.id);
          const hot = taken.has(n.id);
          return (
            <g key={n.id} transform={`translate(${p.x}, ${p.y})`} data-testid="jdm-node" data-node={n.id} data-taken={hot ? 'true' : 'false'}>
              <rect width={W} height={H} rx={6} fill={hot ? '#dcfce7' : '#fff'} stroke={hot ? '#16a34a' : '#94a3b8'} strokeWidth={hot ? 2 : 1} />
              <text x={8} y={18} fontSize="12" fontWeight="bold">{(n.name ?? n.id).slice(0, 22)}</text>
              <text x={8} y={34} fontSize="10" fill="#475569">{(n.type ?? '').slice(0, 26)}</text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
