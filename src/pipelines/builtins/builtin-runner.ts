import { readFileSync } from 'node:fs';
import { isCapstanError } from '../../core/errors.js';
import { NO_RETRY_EXIT_CODE } from '../executor/step-executor.js';
import { loadBuiltin } from './builtin-catalogue.js';

/**
 * Entry point of a built-in step's subprocess: `node builtin-runner.js <name>`. Built-ins run in a
 * child process under the same step contract as any command, so heavy training never blocks the
 * scheduler's event loop and a crash of the step cannot take the scheduler down.
 */
async function main(): Promise<number> {
  const name = process.argv[2];
  const env = process.env;
  const hyperparameters = JSON.parse(readFileSync(env.CAPSTAN_HYPERPARAMETERS!, 'utf8')) as Record<string, string | number | boolean>;
  try {
    const fn = await loadBuiltin(name);
    await fn({
      inputDir: env.CAPSTAN_INPUT_DIR!,
      outputDir: env.CAPSTAN_OUTPUT_DIR!,
      modelDir: env.CAPSTAN_MODEL_DIR!,
      hyperparameters,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    return 0;
  } catch (err) {
    // Client errors (bad data, bad hyperparameters) will not improve on retry.
    if (isCapstanError(err)) {
      process.stderr.write(`error: ${err.message} (${err.code})\n`);
      return err.status < 500 ? NO_RETRY_EXIT_CODE : 1;
    }
    process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

main().then((code) => {
  process.exitCode = code;
});
