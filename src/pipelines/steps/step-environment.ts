/** Host variables every step sees (command, built-in and function steps); the rest of the server's environment stays out. */
export const DEFAULT_PASS_ENV: readonly string[] = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SYSTEMROOT'];

/**
 * The named variables of the server's environment that are set. Steps run user code: the server's
 * own environment holds database URLs, S3 keys and API secrets that such code must not read.
 */
export function passedEnvironment(names: readonly string[] = DEFAULT_PASS_ENV): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) if (process.env[name] !== undefined) env[name] = process.env[name]!;
  return env;
}
