/** Per-user interactions after filtering, grouped (CSR) with the held-out one chosen. */
export interface LeaveOneOutSplit {
  trainUser: Int32Array;
  trainItem: Int32Array;
  /** Users that have a held-out item, ascending. */
  testUser: Int32Array;
  testItem: Int32Array;
  /** Users with a single interaction: kept for training, not evaluated. */
  singleInteractionUsers: number;
}

/**
 * Leave-one-out: each user's latest interaction becomes the test item, the rest train. Among rows
 * sharing the latest timestamp the first in the file wins, as pandas'
 * `rank(method='first', ascending=False)` does in the common NCF preprocessing; without timestamps
 * the last row is the latest. Rows are in file order; `timestamp` may be null.
 */
export function leaveOneOut(numUsers: number, user: Int32Array, item: Int32Array, timestamp: Float64Array | null): LeaveOneOutSplit {
  const n = user.length;
  const latest = new Int32Array(numUsers).fill(-1);
  const counts = new Int32Array(numUsers);
  for (let r = 0; r < n; r++) {
    const u = user[r];
    counts[u]++;
    const cur = latest[u];
    if (cur < 0 || timestamp === null || timestamp[r] > timestamp[cur]) latest[u] = r;
  }
  let testCount = 0;
  let single = 0;
  for (let u = 0; u < numUsers; u++) {
    if (counts[u] >= 2) testCount++;
    else if (counts[u] === 1) single++;
  }
  const testUser = new Int32Array(testCount);
  const testItem = new Int32Array(testCount);
  const isTestRow = new Uint8Array(n);
  let t = 0;
  for (let u = 0; u < numUsers; u++) {
    if (counts[u] < 2) continue;
    testUser[t] = u;
    testItem[t] = item[latest[u]];
    isTestRow[latest[u]] = 1;
    t++;
  }
  const trainUser = new Int32Array(n - testCount);
  const trainItem = new Int32Array(n - testCount);
  let k = 0;
  for (let r = 0; r < n; r++) {
    if (isTestRow[r]) continue;
    trainUser[k] = user[r];
    trainItem[k] = item[r];
    k++;
  }
  return { trainUser, trainItem, testUser, testItem, singleInteractionUsers: single };
}
