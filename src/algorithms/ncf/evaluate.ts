import type { NcfDataset } from './dataset.js';
import { hitAt, ndcgAt, rankOfFirst } from './ranking.js';

/** HR@K and NDCG@K over the evaluated users. */
export interface RankingMetrics {
  hr: number;
  ndcg: number;
  k: number;
  users: number;
}

/** Candidate pairs of the leave-one-out test: per test user, the held-out item then its negatives. */
export interface Candidates {
  users: Int32Array;
  items: Int32Array;
  /** Candidates per user (1 + negatives). */
  perUser: number;
  numUsers: number;
}

/** Lays out the test candidates as flat (user, item) arrays, held-out item first in each group. */
export function testCandidates(ds: Pick<NcfDataset, 'testUser' | 'testItem' | 'testNegatives' | 'numTestNegatives'>): Candidates {
  const per = ds.numTestNegatives + 1;
  const n = ds.testUser.length;
  const users = new Int32Array(n * per);
  const items = new Int32Array(n * per);
  for (let t = 0; t < n; t++) {
    const o = t * per;
    users.fill(ds.testUser[t], o, o + per);
    items[o] = ds.testItem[t];
    items.set(ds.testNegatives.subarray(t * ds.numTestNegatives, (t + 1) * ds.numTestNegatives), o + 1);
  }
  return { users, items, perUser: per, numUsers: n };
}

/** HR@k and NDCG@k from one score per candidate (grouped as in `testCandidates`). */
export function rankingMetrics(scores: ArrayLike<number>, c: Candidates, k: number): RankingMetrics {
  let hr = 0;
  let ndcg = 0;
  for (let t = 0; t < c.numUsers; t++) {
    const rank = rankOfFirst(scores, t * c.perUser, c.perUser);
    hr += hitAt(rank, k);
    ndcg += ndcgAt(rank, k);
  }
  return { hr: hr / c.numUsers, ndcg: ndcg / c.numUsers, k, users: c.numUsers };
}

/** The ItemPop baseline: every candidate scored by its training interaction count. */
export function itemPopMetrics(popularity: Int32Array, c: Candidates, k: number): RankingMetrics {
  const scores = new Float64Array(c.items.length);
  for (let i = 0; i < c.items.length; i++) scores[i] = popularity[c.items[i]];
  return rankingMetrics(scores, c, k);
}
