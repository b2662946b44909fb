import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../src/core/logger.js';
import { startTestServer, type TestServer } from '../src/server/test-support/test-server.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';
import { registerApproved } from '../src/serving/test-support/serving-test-platform.js';
import { Worker } from '../src/storage/queue/worker.js';
import { rankingRecord } from './batch-support.js';
import { cliJson, cliProblem, runCapstan } from './support/capstan-cli.js';

// The CLI against a server (`--url`) and embedded on the server's home (the server is stopped between).
describe('capstan endpoints invoke-async and batch over --url', () => {
  let ts: TestServer;
  let worker: Worker;
  let record: string;

  before(async () => {
    ts = await startTestServer({ 'queue.pollMs': 20 });
    const fixture = writeNcfPackage(path.join(ts.home, 'pkg'));
    const v = await registerApproved(ts.platform.registry, 'ncf', { packageDir: fixture.dir });
    await ts.platform.registry.setAlias('ncf', 'champion', v.version);
    await ts.platform.serving.create('ranker', { variants: [{ model: 'models:/ncf@champion' }] });
    record = rankingRecord(fixture, 2);
    await ts.platform.artifacts.put('cli/in.jsonl', `${record}\n${record}\n`);
    worker = new Worker({ queue: ts.platform.queue, handlers: ts.platform.jobHandlers, logger: silentLogger(), pollMs: 20 });
    await worker.start();
  });
  after(async () => {
    await worker?.stop();
    await ts?.dispose();
  });

  it('queues an invocation, waits for it and shows its status', async () => {
    const done = cliJson(await runCapstan(['endpoints', 'invoke-async', 'ranker', '--body', record, '--inference-id', 'cli-1', '--wait', '--url', ts.url, '--json']));
    assert.equal(done.state, 'Completed');
    assert.equal(done.inferenceId, 'cli-1');
    const status = cliJson(await runCapstan(['endpoints', 'async-status', done.id, '--url', ts.url, '--json']));
    assert.equal(status.outputLocation, done.outputLocation);
    const out = (await ts.platform.artifacts.get(ts.platform.artifacts.keyFor(done.outputLocation))).toString();
    assert.equal(out, (await ts.platform.serving.invoke('ranker', record)).body);
    const bad = cliProblem(await runCapstan(['endpoints', 'invoke-async', 'ranker', '--body', record, '--ttl-seconds', '5', '--url', ts.url, '--json']));
    assert.equal(bad.code, 'CAPSTAN_ASYNC_OPTIONS_INVALID');
    const unknown = cliProblem(await runCapstan(['endpoints', 'invoke-async', 'nosuch', '--body', record, '--url', ts.url, '--json']));
    assert.equal(unknown.code, 'CAPSTAN_SERVING_ENDPOINT_NOT_FOUND');
  });

  it('runs a batch job with --wait over --url, then shows its status and logs', async () => {
    const input = ts.platform.artifacts.uriFor('cli/in.jsonl');
    const run = await runCapstan(['batch', 'run', '--model', 'ncf@champion', '--input', input, '--output', ts.platform.artifacts.uriFor('cli/out'), '--strategy', 'single', '--wait', '--url', ts.url, '--json']);
    const job = cliJson(run);
    assert.equal(job.state, 'Completed');
    assert.equal(job.options.strategy, 'SingleRecord');
    assert.match(run.stderr, /\[#{30}\] 100\.0% 2\/2 records/);
    const status = await runCapstan(['batch', 'status', job.id, '--url', ts.url]);
    assert.match(status.stdout, /state: +Completed/);
    const logs = await runCapstan(['batch', 'logs', job.id, '--url', ts.url]);
    assert.match(logs.stdout, /finished Completed/);
  });

  it('invokes asynchronously embedded (no --url), running the async queue in the CLI process while it waits', async () => {
    const done = cliJson(await runCapstan(['endpoints', 'invoke-async', 'ranker', '--body', record, '--wait', '--json'], { env: { CAPSTAN_HOME: ts.home } }));
    assert.equal(done.state, 'Completed');
    assert.equal(done.content, (await ts.platform.serving.invoke('ranker', record)).body);
    const both = cliProblem(await runCapstan(['endpoints', 'invoke-async', 'ranker', '--body', record, '--input-location', 'file:///x', '--json'], { env: { CAPSTAN_HOME: ts.home } }));
    assert.equal(both.code, 'CAPSTAN_REQUEST_INVALID');
  });
});
