/** A raw id as it appears in the source data: a number for integer ids, otherwise the string. */
export type RawId = number | string;

/**
 * Dense ids: index `d` is the model's row for raw id `raw[d]`. Dense ids are assigned in order of
 * first appearance in the (filtered) data, so the same file always gives the same map.
 */
export class IdMap {
  readonly raw: RawId[];
  private readonly index = new Map<string, number>();

  constructor(raw: RawId[]) {
    this.raw = raw;
    raw.forEach((id, d) => this.index.set(String(id), d));
  }

  /** Number of distinct ids. */
  get size(): number {
    return this.raw.length;
  }

  /** The dense index of a raw id, or undefined when unknown. */
  dense(id: RawId): number | undefined {
    return this.index.get(String(id));
  }

  /** The array saved as `user-ids.json` / `item-ids.json`. */
  toJSON(): RawId[] {
    return this.raw;
  }

  /** Builds a map from raw keys, turning integer strings into numbers when `numeric` holds. */
  static fromKeys(keys: string[], numeric: boolean): IdMap {
    return new IdMap(numeric ? keys.map((k) => Number(k)) : keys.slice());
  }
}
