/** A raw id from the source data: an integer id stays a number, anything else a string. */
export type RawId = number | string;

/**
 * Raw id → dense index lookup for the NCF id maps. Numbers and their decimal strings match each
 * other (`5` and `"5"`), so clients may send either; numeric keys skip string conversion on the hot path.
 */
export class IdIndex {
  readonly raw: readonly RawId[];
  /** `JSON.stringify(raw[d])`, precomputed so responses are assembled without re-encoding ids. */
  readonly json: readonly string[];
  private readonly byNumber = new Map<number, number>();
  private readonly byString = new Map<string, number>();

  constructor(raw: readonly RawId[]) {
    this.raw = raw;
    this.json = raw.map((id) => JSON.stringify(id));
    raw.forEach((id, d) => {
      if (typeof id === 'number') this.byNumber.set(id, d);
      this.byString.set(String(id), d);
    });
  }

  /** Number of ids. */
  get size(): number {
    return this.raw.length;
  }

  /** The dense index of a raw id, or -1 when unknown. */
  dense(id: unknown): number {
    if (typeof id === 'number') {
      const d = this.byNumber.get(id);
      if (d !== undefined) return d;
      return this.byString.get(String(id)) ?? -1;
    }
    if (typeof id === 'string') return this.byString.get(id) ?? -1;
    return -1;
  }
}

/** Reads an id map saved either as a list (index = dense id) or as an object keyed by dense id. */
export function idList(value: unknown): RawId[] {
  if (Array.isArray(value)) return value as RawId[];
  if (value && typeof value === 'object') {
    const out: RawId[] = [];
    for (const [k, v] of Object.entries(value as Record<string, RawId>)) out[Number(k)] = v;
    return out;
  }
  return [];
}
