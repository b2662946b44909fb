/**
 * Rank of candidate 0 (the held-out item) among `count` candidates starting at `offset`: how many
 * others score strictly higher. Equal scores do not push the held-out item down, matching a stable
 * top-k over [held-out, negatives…] as the reference evaluation uses — which matters only for the
 * integer scores of ItemPop.
 */
export function rankOfFirst(scores: ArrayLike<number>, offset: number, count: number): number {
  const s = scores[offset];
  let rank = 0;
  for (let j = 1; j < count; j++) if (scores[offset + j] > s) rank++;
  return rank;
}

/** 1 when a 0-based rank is inside the top k, else 0 (hit ratio of one user). */
export function hitAt(rank: number, k: number): number {
  return rank < k ? 1 : 0;
}

/** NDCG of one relevant item at a 0-based rank with cut-off k: 1/log2(rank+2), 0 beyond k. */
export function ndcgAt(rank: number, k: number): number {
  return rank < k ? 1 / Math.log2(rank + 2) : 0;
}

/**
 * Indices of the k highest scores, best first; ties keep the lower index first. Used to turn
 * candidate scores into a recommendation list.
 */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, Math.min(k, idx.length));
}
