import { fmt } from './charts';

/** One axis: a param (numeric when every value is a number, else its distinct values spread evenly) or the metric. */
interface Axis {
  key: string;
  label: string;
  numeric: boolean;
  min: number;
  max: number;
  categories: string[];
}

/** One line of the chart: a run's values by axis key (missing values are left out of its line). */
export interface PcRow {
  id: string;
  label: string;
  values: Record<string, string | number | undefined>;
}

const isNum = (v: unknown) => typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)));

function axisOf(key: string, label: string, rows: PcRow[]): Axis {
  const vals = rows.map((r) => r.values[key]).filter((v) => v !== undefined && v !== null && v !== '') as (string | number)[];
  const numeric = vals.length > 0 && vals.every(isNum);
  if (numeric) {
    const nums = vals.map(Number);
    let min = Infinity, max = -Infinity;
    for (const n of nums) {
      if (n < min) min = n;
      if (n > max) max = n;
    }
    return { key, label, numeric, min, max, categories: [] };
  }
  return { key, label, numeric, min: 0, max: 0, categories: [...new Set(vals.map(String))].sort() };
}

/** Where a value sits on its axis, 0 (bottom) to 1 (top), or null when the run has none. */
function position(a: Axis, v: string | number | undefined): number | null {
  if (v === undefined || v === null || v === '') return null;
  if (a.numeric) return a.max === a.min ? 0.5 : (Number(v) - a.min) / (a.max - a.min);
  const i = a.categories.indexOf(String(v));
  if (i < 0) return null;
  return a.categories.length === 1 ? 0.5 : i / (a.categories.length - 1);
}

/**
 * Parallel coordinates of chosen params and one metric: an axis each, one polyline per run coloured
 * by the metric (blue low, red high), so which param settings lead to good runs shows as bundles.
 */
export function ParallelCoordinates({ params, metric, rows, width = 760, height = 300 }: { params: string[]; metric: string; rows: PcRow[]; width?: number; height?: number }) {
  const axes = [...params.map((p) => axisOf(`p:${p}`, p, rows)), axisOf(`m:${metric}`, metric, rows)];
  const pad = { top: 24, bottom: 28, side: 50 };
  const ax = (i: number) => pad.side + (axes.length === 1 ? 0 : (i / (axes.length - 1)) * (width - 2 * pad.side));
  const ay = (t: number) => height - pad.bottom - t * (height - pad.top - pad.bottom);
  const m = axes[axes.length - 1];
  const color = (r: PcRow) => {
    const t = position(m, r.values[`m:${metric}`]);
    return t === null ? '#9ca3af' : `hsl(${Math.round(240 - 240 * t)}, 70%, 45%)`;
  };
  return (
    <figure className="chart" data-testid="parallel-coordinates">
      <figcaption>Parallel coordinates: {params.join(', ')} → {metric}</figcaption>
      <svg width={width} height={height} role="img" aria-label="parallel coordinates">
        {rows.map((r) => {
          const pts = axes.map((a, i) => {
            const t = position(a, r.values[a.key]);
            return t === null ? null : `${ax(i).toFixed(1)},${ay(t).toFixed(1)}`;
          });
          return (
            <polyline key={r.id} data-run={r.id} fill="none" stroke={color(r)} strokeWidth={1.5} strokeOpacity={0.75} points={pts.filter(Boolean).join(' ')}>
              <title>{r.label}</title>
            </polyline>
          );
        })}
        {axes.map((a, i) => (
          <g key={a.key} data-testid="pc-axis" data-axis={a.label}>
            <line x1={ax(i)} y1={ay(0)} x2={ax(i)} y2={ay(1)} stroke="#374151" />
            <text x={ax(i)} y={14} fontSize="11" textAnchor="middle" fontWeight="bold">{a.label}</text>
            {a.numeric ? (
              <>
                <text x={ax(i) + 4} y={ay(1) + 4} fontSize="10">{fmt(a.max)}</text>
                <text x={ax(i) + 4} y={ay(0)} fontSize="10">{fmt(a.min)}</text>
              </>
            ) : (
              a.categories.slice(0, 12).map((c) => (
                <text key={c} x={ax(i) + 4} y={ay(position(a, c) ?? 0) + 4} fontSize="10">{c.slice(0, 16)}</text>
              ))
            )}
          </g>
        ))}
      </svg>
    </figure>
  );
}
