import { fmt } from './charts';
import { runColor } from './run-types';

/** One run's line: its colour index and downsampled [step, value] points. */
export interface RunLine {
  runId: string;
  label: string;
  colorIndex: number;
  points: [number, number][];
}

/**
 * A metric of many runs overlaid in one SVG: one polyline per run in that run's colour. Extremes are
 * found with loops, not Math.min(...spread), so 100 runs × 400 points cannot overflow the stack.
 */
export function OverlayChart({ metric, lines, width = 460, height = 220 }: { metric: string; lines: RunLine[]; width?: number; height?: number }) {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const l of lines) {
    for (const [x, y] of l.points) {
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  const drawn = lines.filter((l) => l.points.length > 0);
  const pad = 36;
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const sy = (y: number) => height - pad - ((y - y0) / (y1 - y0 || 1)) * (height - 2 * pad);
  return (
    <figure className="chart" data-testid={`run-chart-${metric}`} data-lines={drawn.length}>
      <figcaption>{metric}</figcaption>
      <svg width={width} height={height} role="img" aria-label={`${metric} by step`}>
        <line x1={pad} y1={height - pad} x2={width - pad} y2={height - pad} stroke="#999" />
        <line x1={pad} y1={pad} x2={pad} y2={height - pad} stroke="#999" />
        {drawn.length > 0 && (
          <>
            <text x={2} y={pad} fontSize="10">{fmt(y1)}</text>
            <text x={2} y={height - pad} fontSize="10">{fmt(y0)}</text>
            <text x={pad} y={height - 8} fontSize="10">step {fmt(x0)}</text>
            <text x={width - pad} y={height - 8} fontSize="10" textAnchor="end">{fmt(x1)}</text>
          </>
        )}
        {drawn.map((l) => (
          <polyline key={l.runId} fill="none" stroke={runColor(l.colorIndex)} strokeWidth={1.5} data-run={l.runId} points={l.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}>
            <title>{l.label}</title>
          </polyline>
        ))}
      </svg>
      {drawn.length === 0 && <p className="muted">No points logged.</p>}
    </figure>
  );
}
