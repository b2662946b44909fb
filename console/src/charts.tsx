// Small SVG charts: no chart library, so the bundle stays small and nothing runs inline.

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

/** One named series of (x, y) points. */
export interface Series {
  name: string;
  points: [number, number][];
}

/** A line chart of one or more series, with axes labelled by their extremes. */
export function LineChart({ title, series, width = 420, height = 200 }: { title: string; series: Series[]; width?: number; height?: number }) {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return null;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const pad = 32;
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const sy = (y: number) => height - pad - ((y - y0) / (y1 - y0 || 1)) * (height - 2 * pad);
  return (
    <figure className="chart" data-testid={`chart-${title}`}>
      <figcaption>{title}</figcaption>
      <svg width={width} height={height} role="img" aria-label={title}>
        <line x1={pad} y1={height - pad} x2={width - pad} y2={height - pad} stroke="#999" />
        <line x1={pad} y1={pad} x2={pad} y2={height - pad} stroke="#999" />
        <text x={2} y={pad} fontSize="10">{fmt(y1)}</text>
        <text x={2} y={height - pad} fontSize="10">{fmt(y0)}</text>
        <text x={pad} y={height - 8} fontSize="10">{fmt(x0)}</text>
        <text x={width - pad} y={height - 8} fontSize="10" textAnchor="end">{fmt(x1)}</text>
        {series.map((s, i) => (
          <polyline key={s.name} fill="none" stroke={COLORS[i % COLORS.length]} strokeWidth={2} points={s.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' ')} data-series={s.name} />
        ))}
      </svg>
      <div className="legend">
        {series.map((s, i) => (
          <span key={s.name} style={{ color: COLORS[i % COLORS.length] }} data-testid="legend-item">
            {s.name}: {fmt(s.points[s.points.length - 1]?.[1] ?? NaN)}
          </span>
        ))}
      </div>
    </figure>
  );
}

/** A horizontal bar chart of named values. */
export function BarChart({ title, values, width = 420 }: { title: string; values: { label: string; value: number }[]; width?: number }) {
  if (values.length === 0) return null;
  const max = Math.max(...values.map((v) => Math.abs(v.value)), 1e-12);
  const rowH = 20;
  const labelW = 140;
  return (
    <figure className="chart" data-testid={`chart-${title}`}>
      <figcaption>{title}</figcaption>
      <svg width={width} height={values.length * rowH + 4} role="img" aria-label={title}>
        {values.map((v, i) => (
          <g key={v.label} transform={`translate(0, ${i * rowH})`}>
            <text x={0} y={14} fontSize="11">{v.label}</text>
            <rect x={labelW} y={3} height={rowH - 6} width={Math.max(1, (Math.abs(v.value) / max) * (width - labelW - 70))} fill={COLORS[i % COLORS.length]} />
            <text x={width - 4} y={14} fontSize="11" textAnchor="end" data-testid="bar-value">{fmt(v.value)}</text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

/** Four significant digits, or an integer as is. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return Number.isInteger(n) ? String(n) : n.toPrecision(4);
}
