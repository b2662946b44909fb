/** One point of a metric series: x (epoch or step index) and y. */
export type Point = [number, number];

/**
 * Cuts a series to at most `maxPoints` points for drawing: the series is split into `maxPoints / 2`
 * equal buckets and each keeps its lowest and highest point (in x order), so spikes and dips survive
 * and the page costs the same for 10 points or 10 million. Shorter series come back unchanged.
 */
export function downsampleMinMax(points: readonly Point[], maxPoints: number): Point[] {
  if (!Number.isInteger(maxPoints) || maxPoints < 2) throw new RangeError('maxPoints must be an integer of at least 2');
  if (points.length <= maxPoints) return points.slice();
  const buckets = Math.floor(maxPoints / 2);
  const size = points.length / buckets;
  const out: Point[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * size);
    const end = Math.min(points.length, Math.floor((b + 1) * size));
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      if (points[i][1] < points[lo][1]) lo = i;
      if (points[i][1] > points[hi][1]) hi = i;
    }
    if (lo === hi) out.push(points[lo]);
    else if (lo < hi) out.push(points[lo], points[hi]);
    else out.push(points[hi], points[lo]);
  }
  return out;
}
