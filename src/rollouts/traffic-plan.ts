import type { EndpointVariant, VariantInput } from '../serving/index.js';

/** A stored variant as input again, its model pinned to the version it serves, so an alias that moved later changes nothing. */
export function pinned(v: EndpointVariant): VariantInput {
  const { resolved, live: _live, ...rest } = v;
  return { ...rest, model: `models:/${resolved.name}/${resolved.version}` };
}

const round = (n: number) => Math.round(n * 10_000) / 10_000;

/**
 * The variant list with green holding `greenPercent` of traffic: each side keeps its own relative
 * weights. Shadow variants take no routed traffic, so they keep their weight and count in no total.
 */
export function mixed(blue: readonly VariantInput[], green: readonly VariantInput[], greenPercent: number): VariantInput[] {
  const routed = (v: VariantInput) => !v.shadowPercent;
  const total = (side: readonly VariantInput[]) => side.filter(routed).reduce((a, v) => a + (v.weight ?? 1), 0) || 1;
  const b = total(blue);
  const g = total(green);
  const scale = (v: VariantInput, sum: number, share: number) => (routed(v) ? { ...v, weight: round(((v.weight ?? 1) / sum) * share) } : { ...v });
  return [...blue.map((v) => scale(v, b, 100 - greenPercent)), ...green.map((v) => scale(v, g, greenPercent))];
}

/**
 * A name for a green variant that no blue variant and no earlier deployment of the endpoint used
 * (`primary-d3` for the third deployment), so its statistics never mix with an older variant's.
 */
export function greenName(requested: string, taken: ReadonlySet<string>, sequence: number): string {
  if (!taken.has(requested) && !/-d\d+$/.test(requested)) return requested;
  const stem = requested.replace(/-d\d+$/, '');
  let n = sequence;
  while (taken.has(`${stem}-d${n}`)) n++;
  return `${stem}-d${n}`;
}
