/** Prints the bench's result as one JSON line: the line RESULTS.md and the keys refer to, always the last. */
export function printResult(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Runs a bench's main: a failure prints its stack to stderr and sets exit code 1 (no JSON line). */
export function runBench(main: () => Promise<void>): void {
  main().catch((err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
