/**
 * Each user's items as sorted rows of one array (CSR), for membership tests while sampling negatives
 * and for the `user-items.json` asset that lets serving skip items a user has already seen.
 */
export class UserItems {
  readonly start: Int32Array;
  readonly items: Int32Array;

  constructor(numUsers: number, user: Int32Array, item: Int32Array) {
    const start = new Int32Array(numUsers + 1);
    for (let r = 0; r < user.length; r++) start[user[r] + 1]++;
    for (let u = 0; u < numUsers; u++) start[u + 1] += start[u];
    const fill = start.slice(0, numUsers);
    const items = new Int32Array(user.length);
    for (let r = 0; r < user.length; r++) items[fill[user[r]]++] = item[r];
    for (let u = 0; u < numUsers; u++) items.subarray(start[u], start[u + 1]).sort();
    this.start = start;
    this.items = items;
  }

  /** Number of users. */
  get numUsers(): number {
    return this.start.length - 1;
  }

  /** How many items user `u` has. */
  count(u: number): number {
    return this.start[u + 1] - this.start[u];
  }

  /** The sorted items of user `u` (a view). */
  of(u: number): Int32Array {
    return this.items.subarray(this.start[u], this.start[u + 1]);
  }

  /** True when user `u` has item `i` (binary search). */
  has(u: number, i: number): boolean {
    const items = this.items;
    let lo = this.start[u];
    let hi = this.start[u + 1] - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = items[mid];
      if (v === i) return true;
      if (v < i) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** The asset form: one array of dense items per dense user. */
  toJSON(): number[][] {
    const out: number[][] = [];
    for (let u = 0; u < this.numUsers; u++) out.push(Array.from(this.of(u)));
    return out;
  }
}
