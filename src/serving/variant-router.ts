/** Something with a name and a traffic weight. */
export interface Weighted {
  readonly name: string;
  readonly weight: number;
}

/**
 * Weighted random choice among production variants, precomputed once per configuration so each
 * request costs one random draw and a scan of at most ten cumulative weights.
 */
export class VariantRouter<T extends Weighted> {
  private readonly cumulative: number[] = [];
  private readonly total: number;
  private readonly byName = new Map<string, T>();

  constructor(private readonly variants: readonly T[]) {
    let sum = 0;
    for (const v of variants) {
      sum += v.weight;
      this.cumulative.push(sum);
      this.byName.set(v.name, v);
    }
    this.total = sum;
  }

  /** A variant drawn with probability weight / total; `random` is a number in [0, 1). */
  pick(random = Math.random()): T {
    const target = random * this.total;
    for (let i = 0; i < this.variants.length; i++) if (target < this.cumulative[i]) return this.variants[i];
    // Only reachable through rounding at the top end: fall back to the last variant with weight.
    for (let i = this.variants.length - 1; i >= 0; i--) if (this.variants[i].weight > 0) return this.variants[i];
    return this.variants[0];
  }

  /** The variant of that name (the target-variant header), or undefined. */
  get(name: string): T | undefined {
    return this.byName.get(name);
  }

  /** Each variant's share of traffic in percent. */
  shares(): Map<string, number> {
    return new Map(this.variants.map((v) => [v.name, this.total > 0 ? (100 * v.weight) / this.total : 0]));
  }
}
