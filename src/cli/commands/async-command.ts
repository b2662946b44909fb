import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ASYNC_QUEUE, type AsyncInvocation, type AsyncInvocationService, type BatchContext } from '../../batch/index.js';
import { CapstanError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { AsyncClient } from '../../sdk/async-client.js';
import { HttpClient } from '../../sdk/http-client.js';
import { Worker } from '../../storage/queue/worker.js';
import { allOptions, configFrom, integerOption, printResult, withPlatform, withService, type ServiceAccess } from '../cli-context.js';
import type { CommandModule } from './index.js';

const access: ServiceAccess<AsyncInvocationService> = {
  local: (platform) => platform.context<BatchContext>('batch').async,
  remote: (http) => new AsyncClient(http),
};

const ENDED = ['Completed', 'Failed', 'Expired'];

async function until(read: () => Promise<AsyncInvocation>): Promise<AsyncInvocation> {
  for (;;) {
    const v = await read();
    if (ENDED.includes(v.state)) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function describe(v: AsyncInvocation): string {
  return [`${v.id} (${v.inferenceId}) ${v.state}`, `output:  ${v.outputLocation}`, `failure: ${v.failureLocation}`, ...(v.failureReason ? [`reason:  ${v.failureReason}`] : [])].join('\n');
}

/**
 * `capstan endpoints invoke-async` and `capstan endpoints async-status`: asynchronous invocations,
 * added to the `endpoints` group (registered before this module).
 */
export const asyncCommand: CommandModule = (program: Command) => {
  const endpoints = program.commands.find((c) => c.name() === 'endpoints') ?? program.command('endpoints');

  endpoints
    .command('invoke-async <name>')
    .description('queue an invocation (SageMaker InvokeEndpointAsync) and print its output and failure locations')
    .option('--body <text>', 'the payload')
    .option('--file <path>', 'read the payload from a local file')
    .option('--input-location <uri>', 'the payload is this object in the artifact store')
    .option('--content-type <type>', 'payload content type; default application/json')
    .option('--inference-id <id>', 'your id for the request; repeating it returns the first request')
    .option('--ttl-seconds <n>', 'how long it may wait in the queue, 60-21600; default 21600', integerOption('--ttl-seconds', 0, 1_000_000_000))
    .option('--timeout-seconds <n>', 'how long the model may take, 1-3600; default 900', integerOption('--timeout-seconds', 0, 1_000_000_000))
    .option('--wait', 'wait for the result (embedded: run the async queue in this process meanwhile)')
    .option('--json', 'print JSON')
    .action(async (name: string, _opts, cmd: Command) => {
      const o = allOptions<{ body?: string; file?: string; inputLocation?: string; contentType?: string; inferenceId?: string; ttlSeconds?: number; timeoutSeconds?: number; wait?: boolean }>(cmd);
      if ([o.body, o.file, o.inputLocation].filter((v) => v !== undefined).length !== 1) {
        throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'give exactly one of --body, --file and --input-location');
      }
      const request = {
        body: o.file !== undefined ? readFileSync(o.file, 'utf8') : o.body,
        inputLocation: o.inputLocation,
        contentType: o.contentType,
        inferenceId: o.inferenceId,
        requestTtlSeconds: o.ttlSeconds,
        invocationTimeoutSeconds: o.timeoutSeconds,
      };
      const config = configFrom(cmd);
      if (!o.wait) {
        const accepted = await withService(cmd, access, (s) => s.invoke(name, request));
        printResult(cmd, accepted, () => `queued ${accepted.id} (${accepted.inferenceId})\noutput:  ${accepted.outputLocation}\nfailure: ${accepted.failureLocation}`);
        return;
      }
      if (config.url) {
        const client = new AsyncClient(new HttpClient({ baseUrl: config.url, apiKey: config.apiKey }));
        const accepted = await client.invoke(name, request);
        const done = await until(() => client.get(accepted.id));
        printResult(cmd, done, () => describe(done));
        if (done.state !== 'Completed') process.exitCode = 1;
        return;
      }
      await withPlatform(cmd, async (platform) => {
        const svc = platform.context<BatchContext>('batch').async;
        const accepted = await svc.invoke(name, request);
        const worker = new Worker({ queue: platform.queue, handlers: platform.jobHandlers, queues: [ASYNC_QUEUE], logger: silentLogger() });
        await worker.start();
        try {
          const done = await until(() => svc.get(accepted.id));
          const location = done.state === 'Completed' ? done.outputLocation : done.failureLocation;
          const content = (await platform.artifacts.get(platform.artifacts.keyFor(location))).toString('utf8');
          printResult(cmd, { ...done, content }, () => `${describe(done)}\n${content}`);
          if (done.state !== 'Completed') process.exitCode = 1;
        } finally {
          await worker.stop();
        }
      });
    });

  endpoints
    .command('async-status <id>')
    .description('show an asynchronous invocation')
    .option('--json', 'print JSON')
    .action(async (id: string, _opts, cmd: Command) => {
      const v = await withService(cmd, access, (s) => s.get(id));
      printResult(cmd, v, () => describe(v));
    });
};
