import path from 'node:path';
import type { Command } from 'commander';
import { CapstanError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { allOptions, configFrom } from '../cli-context.js';
import { shutdownSignal } from '../shutdown-signal.js';

interface DemoFlags {
  ratings?: string;
  movies?: string;
  users?: string;
  items?: string;
  interactions?: string;
  epochs?: string;
  hrThreshold?: string;
  port?: string;
  exit?: boolean;
  json?: boolean;
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/** `capstan demo`: the whole recommendation story end to end on the embedded default. */
export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the recommendation story end to end: platform, triggered NCF pipeline, registry, endpoint, recommendations')
    .option('--ratings <file>', 'MovieLens u.data, ratings.csv, ratings.dat or a user,item[,rating][,timestamp] CSV (default: synthetic data)')
    .option('--movies <file>', 'MovieLens movies.csv, to show titles')
    .option('--users <n>', 'synthetic users (default 1000)')
    .option('--items <n>', 'synthetic items (default 1500)')
    .option('--interactions <n>', 'synthetic interactions (default 50000)')
    .option('--epochs <n>', 'training epochs (default: the pipeline\'s, 10)')
    .option('--hr-threshold <x>', 'HR@10 needed for registration and auto-approval (default: the pipeline\'s, 0.3)')
    .option('--port <port>', 'API port, 0 for any free one (default 7070)')
    .option('--exit', 'exit when done instead of serving until Ctrl-C')
    .option('--json', 'print a final JSON summary on stdout (progress goes to stderr)')
    .action(async (_opts, cmd: Command) => {
      const o = allOptions<DemoFlags>(cmd);
      const hrThreshold = o.hrThreshold === undefined ? undefined : Number(o.hrThreshold);
      if (hrThreshold !== undefined && !(hrThreshold >= 0 && hrThreshold <= 1)) {
        throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--hr-threshold must be a number in [0, 1], got ${JSON.stringify(o.hrThreshold)}`);
      }
      const epochs = positiveInt(o.epochs, '--epochs');
      const flags: Record<string, unknown> = {};
      if (o.port !== undefined) flags['server.port'] = o.port;
      // The demo prints its own progress, so its log stays at warn unless the user asks for more.
      const config = configFrom(cmd, flags, { logLevel: 'warn' });
      // Loaded on demand: the demo pulls in every context.
      const { fileDataset, readMovieTitles, synthDataset } = await import('../demo/demo-data.js');
      const { DemoReporter } = await import('../demo/demo-reporter.js');
      const { runDemo } = await import('../demo/run-demo.js');
      const { openPlatform } = await import('../../platform/platform.js');
      const { startServer } = await import('../../server/server.js');
      const dataset = o.ratings
        ? fileDataset(o.ratings)
        : synthDataset({ users: positiveInt(o.users, '--users'), items: positiveInt(o.items, '--items'), interactions: positiveInt(o.interactions, '--interactions') });
      const titles = o.movies ? readMovieTitles(o.movies) : undefined;
      const reporter = new DemoReporter(o.json ? process.stderr : process.stdout);

      const platform = await openPlatform({ config, logger: createLogger({ level: config.logLevel, format: config.logFormat }) });
      let server;
      try {
        server = await startServer(platform, { background: true, logRequests: false });
      } catch (err) {
        await platform.close();
        throw err;
      }
      reporter.phase(`Capstan is running at ${server.url} (home ${config.home})`);
      reporter.info(`console ${server.url}/console/   API ${server.url}/api/v1   docs ${server.url}/docs   metrics ${server.url}/metrics`);
      reporter.info(`database ${platform.db.displayUrl}   artifacts ${platform.artifacts.rootUri}   services ${server.services.join(', ')}`);
      try {
        const summary = await runDemo(platform, server, dataset, reporter, { hrThreshold, epochs, titles });
        if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        // The same state, one command at a time (docs/quickstart.md walks through them).
        const home = config.home === path.resolve('.capstan') ? '' : ` --home ${config.home}`;
        reporter.phase(`Look around${o.exit ? '' : ' (in another terminal)'}:`);
        for (const line of [
          `npx capstan${home} pipeline describe ${summary.execution.id}  # steps, cache hits, metrics`,
          `npx capstan${home} logs ${summary.execution.id} --step train`,
          ...trainRunHint(summary, home),
          `npx capstan${home} models history ncf  # the auto-approval in the audit trail`,
          `npx capstan${home} endpoints describe ncf`,
        ]) reporter.info(line);
        if (!o.exit) {
          reporter.phase(`Open the console at ${server.url}/console/ (the pipeline graph, model ncf and endpoint ncf)`);
          reporter.phase(`Serving at ${server.url} — try:\n  curl -s -X POST ${server.url}/endpoints/ncf/invocations -H 'content-type: application/json' -d '{"user":${firstUser(summary)},"k":10}'\n  Ctrl-C to stop`);
          await shutdownSignal();
        }
      } finally {
        await server.shutdown();
      }
    });
}

/** The training curve of the execution's train step: its run is the one with metric points. */
function trainRunHint(summary: { execution: { steps: { name: string; runId?: string }[] } }, home: string): string[] {
  const runId = summary.execution.steps.find((s) => s.name === 'train')?.runId;
  return runId ? [`npx capstan${home} runs metric ${runId} hr@10  # HR@10 per training epoch`] : [];
}

function firstUser(summary: { recommendations: Record<string, unknown> }): string {
  const user = Object.keys(summary.recommendations)[0] ?? '0';
  return /^-?\d+$/.test(user) ? user : JSON.stringify(user);
}
