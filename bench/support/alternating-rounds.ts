import type { LoadResult } from './autocannon.js';
import { log } from './log.js';
import { measureLoad } from './measure-load.js';
import { median } from './median.js';

/** One request to replay against a server, measured as one side of a comparison. */
export interface LoadSide {
  name: string;
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** How the sides of a comparison are measured; each bench states its own, so only `rate` has a default. */
export interface AlternatingOptions {
  /** Rounds per side; each figure is the median of its rounds. */
  rounds: number;
  /** Seconds of each round. */
  roundSeconds: number;
  /** Seconds of warm-up per side before the first round. */
  warmupSeconds: number;
  connections: number;
  /** A fixed offered rate (autocannon overallRate) for every round; unthrottled when absent. */
  rate?: number;
}

/** One side's figures: the medians of its rounds, and the rounds themselves. */
export interface AlternatingResult {
  reqPerSec: number;
  p99: number;
  rounds: LoadResult[];
}

/**
 * Measures the sides of a comparison in alternating rounds and returns each side's medians, in order.
 * Run one after the other, two sides on this shared host came out ±25–30 % apart from one run to the
 * next, and whichever ran second took the drift; alternating, with the side that goes first
 * alternating too, lets a drift weigh on every side alike. Each side's first answer is checked, and any
 * non-2xx or error fails the bench.
 */
export async function measureAlternating(sides: LoadSide[], o: AlternatingOptions): Promise<AlternatingResult[]> {
  const rounds = sides.map(() => [] as LoadResult[]);
  for (const side of sides) {
    const check = await fetch(side.url, { method: 'POST', headers: side.headers, body: side.body });
    if (!check.ok) throw new Error(`${side.name}: the server answered ${check.status}: ${await check.text()}`);
  }
  for (let round = 0; round < o.rounds; round++) {
    const order = sides.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const side = sides[i];
      const r = await measureLoad(`${side.name}, round ${round + 1} of ${o.rounds}`, side.url, {
        connections: o.connections,
        rate: o.rate,
        seconds: o.roundSeconds,
        warmupSeconds: round === 0 ? o.warmupSeconds : 0,
        body: side.body,
        headers: side.headers,
      });
      if (r.non2xx + r.errors > 0) throw new Error(`${side.name}: ${r.non2xx} non-2xx answers and ${r.errors} errors`);
      rounds[i].push(r);
    }
  }
  const figure = o.rate === undefined ? (r: LoadResult) => `${Math.round(r.reqPerSec)}` : (r: LoadResult) => `p99 ${r.p99} ms`;
  log(sides.map((side, i) => `${side.name} rounds ${rounds[i].map(figure).join(', ')}`).join('; '));
  return rounds.map((rs) => ({ reqPerSec: median(rs.map((r) => r.reqPerSec)), p99: median(rs.map((r) => r.p99)), rounds: rs }));
}
