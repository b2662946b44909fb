// Why not a Map or a Set (decision 0036): V8 rehashes a hash table that keeps taking new keys and
// deleting old ones into a fresh backing store, and leaves the entries that were live at the rehash in
// the old one. Once such a table has been promoted under load, every later backing store is allocated
// in the old generation too, and the dead ones keep the requests they held (their promises, answers
// and bodies) alive through every scavenge until the next mark-compact. The server then promoted
// ~1 KB per request for as long as it ran, and its scavenges took three times as long. A slot array
// has one backing store, and a freed slot holds nothing.

/** Slots per table: the most requests one table can hold in flight at once. */
const SLOT_SPACE = 2 ** 21;
/** Slot reuses before an id repeats (ids stay below 2^52, exact in a double). */
const ROUNDS = 2 ** 31;

/**
 * Values (requests in flight) under ids the table issues, reusing freed slots. An id names one use
 * of a slot: a late answer for a value already taken (a request answered 504) finds nothing, even
 * when its slot holds a newer value.
 */
export class InFlightTable<T> {
  private readonly values: (T | undefined)[] = [];
  /** The id each slot holds now; 0 when free. */
  private readonly ids: number[] = [];
  private readonly free: number[] = [];
  private round = 1;
  private count = 0;

  /** Values in the table. */
  get size(): number {
    return this.count;
  }

  /** Stores `value` and returns its id. */
  add(value: T): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.values.length;
      if (slot >= SLOT_SPACE) throw new RangeError(`more than ${SLOT_SPACE} values in flight`);
      this.values.push(undefined);
      this.ids.push(0);
    }
    const id = this.round * SLOT_SPACE + slot;
    this.round = this.round + 1 === ROUNDS ? 1 : this.round + 1;
    this.values[slot] = value;
    this.ids[slot] = id;
    this.count++;
    return id;
  }

  /** The value stored under `id`, if it is still there. */
  get(id: number): T | undefined {
    const slot = id % SLOT_SPACE;
    return this.ids[slot] === id ? this.values[slot] : undefined;
  }

  /** Removes and returns the value stored under `id`; undefined when it was already taken. */
  take(id: number): T | undefined {
    const slot = id % SLOT_SPACE;
    if (this.ids[slot] !== id) return undefined;
    const value = this.values[slot];
    this.values[slot] = undefined;
    this.ids[slot] = 0;
    this.free.push(slot);
    this.count--;
    return value;
  }

  /** Calls `fn` for every value in the table; `fn` may take the value it is given. */
  forEach(fn: (value: T, id: number) => void): void {
    for (let slot = 0; slot < this.ids.length; slot++) {
      const id = this.ids[slot];
      if (id !== 0) fn(this.values[slot]!, id);
    }
  }

  /** Removes every value and returns them in slot order. */
  takeAll(): T[] {
    const all: T[] = [];
    this.forEach((value, id) => {
      this.take(id);
      all.push(value);
    });
    return all;
  }
}
