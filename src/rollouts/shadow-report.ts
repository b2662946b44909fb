import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { captureKeyPrefix } from '../serving/index.js';

/** One shadow variant compared with the variants that answered the same requests. */
export interface ShadowComparison {
  shadow: string;
  /** Requests answered by both (pairs in data capture). */
  pairs: number;
  /** Share of pairs whose answers are identical. */
  agreement: number;
  /** For rankings (`items` lists): mean overlap of the top k (k = the shorter list), 0-1. */
  overlapAtK: number | null;
  /** For rankings: mean Spearman rank correlation over the items both ranked. */
  rankCorrelation: number | null;
  /** Mean of shadow score minus primary score (a `score` number or the mean of `scores`). */
  meanScoreDelta: number | null;
  latencyMs: { primaryMean: number; shadowMean: number; primaryP99: number; shadowP99: number };
  /** Shadow answers that were errors, and their share. */
  errors: number;
  errorRate: number;
}

/** `shadow-report`: how each shadow variant's answers compare with the answers users got. */
export interface ShadowReport {
  endpoint: string;
  files: number;
  shadows: ShadowComparison[];
}

interface Captured {
  variant: string;
  inferenceId?: string;
  response: string;
  status: number;
  latencyMs?: number;
  shadowOf?: string;
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

function itemsOf(v: unknown): unknown[] | undefined {
  const items = (v as { items?: unknown })?.items;
  return Array.isArray(items) ? items : undefined;
}

function scoreOf(v: unknown): number | undefined {
  const o = v as { score?: unknown; scores?: unknown };
  if (typeof o?.score === 'number') return o.score;
  if (Array.isArray(o?.scores) && o.scores.length > 0 && o.scores.every((x) => typeof x === 'number')) return (o.scores as number[]).reduce((a, b) => a + b, 0) / o.scores.length;
  return undefined;
}

/** Spearman's rho over the items both lists contain, by their positions; null with fewer than two shared items. */
export function spearman(a: readonly unknown[], b: readonly unknown[]): number | null {
  const key = (x: unknown) => JSON.stringify(x);
  const posB = new Map(b.map((x, i) => [key(x), i]));
  const shared = a.map((x, i) => [i, posB.get(key(x))] as const).filter((p): p is readonly [number, number] => p[1] !== undefined);
  const n = shared.length;
  if (n < 2) return null;
  // Rank within the shared items, so items missing from one list do not distort the other's ranks.
  const rank = (vals: number[]) => {
    const order = [...vals].sort((x, y) => x - y);
    return vals.map((v) => order.indexOf(v));
  };
  const ra = rank(shared.map((p) => p[0]));
  const rb = rank(shared.map((p) => p[1]));
  const d2 = ra.reduce((s, r, i) => s + (r - rb[i]) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const p99 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(0.99 * xs.length) - 1)] : 0);
const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Reads the endpoint's data capture and compares every shadow answer with the primary answer of the same request. */
export async function shadowReport(artifacts: ArtifactStore, endpoint: string): Promise<ShadowReport> {
  const files = await artifacts.list(captureKeyPrefix(endpoint));
  const records: Captured[] = [];
  for (const f of files) {
    for (const line of (await artifacts.get(f.key)).toString('utf8').split('\n')) {
      if (line.trim()) records.push(JSON.parse(line) as Captured);
    }
  }
  const primaries = new Map<string, Captured>();
  for (const r of records) if (!r.shadowOf && r.inferenceId && r.latencyMs !== undefined) primaries.set(`${r.inferenceId}|${r.variant}`, r);
  const byShadow = new Map<string, [Captured, Captured][]>();
  for (const r of records) {
    if (!r.shadowOf || !r.inferenceId) continue;
    const p = primaries.get(`${r.inferenceId}|${r.shadowOf}`);
    if (!p) continue;
    byShadow.set(r.variant, [...(byShadow.get(r.variant) ?? []), [p, r]]);
  }
  const shadows = [...byShadow.entries()].map(([shadow, pairs]): ShadowComparison => {
    const ok = pairs.filter(([, s]) => s.status < 400);
    const overlaps: number[] = [];
    const rhos: number[] = [];
    const deltas: number[] = [];
    for (const [p, s] of ok) {
      const a = parse(p.response);
      const b = parse(s.response);
      const ia = itemsOf(a);
      const ib = itemsOf(b);
      if (ia && ib) {
        const k = Math.min(ia.length, ib.length);
        if (k > 0) {
          const top = new Set(ia.slice(0, k).map((x) => JSON.stringify(x)));
          overlaps.push(ib.slice(0, k).filter((x) => top.has(JSON.stringify(x))).length / k);
        }
        const rho = spearman(ia, ib);
        if (rho !== null) rhos.push(rho);
      }
      const sa = scoreOf(a);
      const sb = scoreOf(b);
      if (sa !== undefined && sb !== undefined) deltas.push(sb - sa);
    }
    const errors = pairs.length - ok.length;
    return {
      shadow,
      pairs: pairs.length,
      agreement: r4(ok.filter(([p, s]) => p.response === s.response).length / pairs.length),
      overlapAtK: overlaps.length ? r4(mean(overlaps)) : null,
      rankCorrelation: rhos.length ? r4(mean(rhos)) : null,
      meanScoreDelta: deltas.length ? r4(mean(deltas)) : null,
      latencyMs: { primaryMean: r4(mean(pairs.map(([p]) => p.latencyMs ?? 0))), shadowMean: r4(mean(pairs.map(([, s]) => s.latencyMs ?? 0))), primaryP99: r4(p99(pairs.map(([p]) => p.latencyMs ?? 0))), shadowP99: r4(p99(pairs.map(([, s]) => s.latencyMs ?? 0))) },
      errors,
      errorRate: r4(errors / pairs.length),
    };
  });
  return { endpoint, files: files.length, shadows };
}
