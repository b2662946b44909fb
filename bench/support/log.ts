/** Progress goes to stderr, so the bench's stdout ends with its JSON line only. */
export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}
