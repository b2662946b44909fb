import { Command, CommanderError } from 'commander';
import { debugRequested } from '../core/config.js';
import { isCapstanError } from '../core/errors.js';
import { commandModules } from './commands/index.js';

/** Builds the `capstan` program with every command module registered. */
export function buildProgram(): Command {
  const program = new Command('capstan')
    .description('Capstan: self-hosted MLOps — training pipelines, model registry, real-time endpoints')
    // Only -V at the program level: subcommands own --version (`capstan decisions replay … --version 2`);
    // `capstan --version` alone still prints the version (see main).
    .version('0.1.0', '-V')
    .option('--home <dir>', 'home directory (SQLite file, local artifacts); env CAPSTAN_HOME')
    .option('--database-url <url>', 'sqlite://file or postgres://…; env CAPSTAN_DATABASE_URL')
    .option('--artifacts <uri>', 'file://dir or s3://bucket/prefix; env CAPSTAN_ARTIFACTS')
    .option('--url <url>', 'talk to a Capstan server instead of the embedded database; env CAPSTAN_URL')
    .option('--api-key <key>', 'API key for --url; env CAPSTAN_API_KEY')
    .option('--config <file>', 'configuration file; default ./capstan.yaml')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commandModules) register(program);
  return program;
}

/** Runs the CLI and returns the exit code; errors print as one clear line (or a JSON problem with --json). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv[2] === '--version') argv = [...argv.slice(0, 2), '-V', ...argv.slice(3)];
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const json = argv.includes('--json');
    if (isCapstanError(err)) {
      if (json) process.stdout.write(`${JSON.stringify(err.toProblem())}\n`);
      else process.stderr.write(`error: ${err.message} (${err.code})\n`);
      return 1;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (json) process.stdout.write(`${JSON.stringify({ code: 'CAPSTAN_INTERNAL', detail: message })}\n`);
    else process.stderr.write(`error: ${message}\n`);
    if (debugRequested()) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    return 1;
  }
}
