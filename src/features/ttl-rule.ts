/**
 * The one TTL rule, shared by training sets (in SQL, see offline-sql.ts) and online reads: a value
 * whose event time is more than `ttlMs` before the read time is expired. Times are whole
 * milliseconds since the epoch on both sides, so the two agree exactly.
 */
export function isExpired(eventMs: number, atMs: number, ttlMs: number | null): boolean {
  return ttlMs !== null && atMs - eventMs > ttlMs;
}

/** The SQL form of `isExpired` over millisecond columns; offline-sql.ts uses it so both stay one rule. */
export function expiredSql(eventMsExpr: string, atMsExpr: string, ttlMs: number | null): string {
  return ttlMs === null ? 'false' : `(${atMsExpr} - ${eventMsExpr} > ${Math.trunc(ttlMs)})`;
}
