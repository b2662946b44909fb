import type { Comparison } from '../registry/index.js';
import { table } from './cli-context.js';

/** A text bar chart per metric, scaled to the largest value, for terminals. */
export function barChart(c: Comparison, width = 30): string {
  const out: string[] = [];
  const label = Math.max(...c.rows.map((r) => r.id.length));
  for (const m of c.metrics) {
    const values = c.rows.map((r) => r.metrics[m]);
    const max = Math.max(...values.map((v) => (v === null ? 0 : Math.abs(v))));
    out.push(`${m}${c.best[m] ? `  (best: ${c.best[m]})` : ''}`);
    for (const r of c.rows) {
      const v = r.metrics[m];
      const bar = v === null || max === 0 ? '' : '█'.repeat(Math.max(1, Math.round((Math.abs(v) / max) * width)));
      out.push(`  ${r.id.padEnd(label)}  ${bar.padEnd(width)}  ${v === null ? '-' : v}`);
    }
  }
  return out.join('\n');
}

/**
 * The comparison as a table. Unless params were chosen, only those that differ between the rows are
 * shown: the ones every version shares say nothing about why their metrics differ.
 */
export function comparisonText(c: Comparison, tty: boolean, paramsChosen = false): string {
  const differs = (p: string) => new Set(c.rows.map((r) => r.params[p] ?? null)).size > 1;
  const params = paramsChosen || c.rows.length < 2 ? c.params : c.params.filter(differs);
  const rows = c.rows.map((r) => ({ id: r.id, ...(r.approval ? { approval: r.approval } : {}), ...Object.fromEntries(c.metrics.map((m) => [m, r.metrics[m] ?? '-'])), ...Object.fromEntries(params.map((p) => [p, r.params[p] ?? '-'])) }));
  const hidden = c.params.length - params.length;
  const text = table(rows) + (hidden > 0 ? `\n(${hidden} params equal in every row not shown; --params a,b to choose)` : '');
  return tty && c.metrics.length ? `${text}\n\n${barChart(c)}` : text;
}
