/** autocannon ships no types; the decisions load generator uses its programmatic API untyped. */
declare module 'autocannon' {
  const autocannon: (options: Record<string, unknown>) => Promise<Record<string, any>>;
  export default autocannon;
}
