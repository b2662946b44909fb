import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPipeline } from './pipelines-support.js';
import { openTestPlatform, type TestPlatform } from '../src/platform/test-support/test-platform.js';
import { buildApp, type CapstanApp } from '../src/server/app.js';

describe('queue and pipeline metrics on /metrics', () => {
  let t: TestPlatform;
  let app: CapstanApp;
  const scrape = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const run = async (yaml: string) => (await startPipeline(t.platform.pipelines, yaml, t.home)).done;

  before(async () => {
    t = await openTestPlatform();
    app = await buildApp(t.platform);
  });
  after(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('shows the jobs in each state, read from the database at each scrape', async () => {
    await t.platform.queue.enqueue('metrics.test', {}, { queue: 'm' });
    await t.platform.queue.enqueue('metrics.test', {}, { queue: 'm', runAt: Date.now() + 60_000 });
    const text = await scrape();
    assert.match(text, /^capstan_queue_jobs\{state="queued"\} 2$/m);
    assert.match(text, /^capstan_queue_jobs\{state="dead"\} 0$/m);
  });

  it('counts ended executions by state, times the steps that ran, and counts cache hits', async () => {
    const yaml = `name: metered
steps:
  - { name: a, type: processing, command: [sh, -c, 'sleep 0.1; echo x > "$CAPSTAN_OUTPUT_DIR/o/x"'], outputs: [o] }
  - { name: b, type: processing, command: [sh, -c, 'exit 3'], depends_on: [a], cache: false }
`;
    assert.equal((await run(yaml)).state, 'failed');
    assert.equal((await run(yaml)).state, 'failed', 'b fails again; a comes from the cache');
    assert.equal((await run('name: fine\nsteps:\n  - { name: ok, type: processing, command: "true" }\n')).state, 'succeeded');
    const text = await scrape();
    assert.match(text, /^capstan_pipeline_executions_total\{pipeline="metered",state="failed"\} 2$/m);
    assert.match(text, /^capstan_pipeline_executions_total\{pipeline="fine",state="succeeded"\} 1$/m);
    assert.match(text, /^capstan_pipeline_step_duration_seconds_count\{pipeline="metered",step="a",state="succeeded"\} 1$/m, 'a ran once; the second time it was cached');
    assert.match(text, /^capstan_pipeline_step_duration_seconds_count\{pipeline="metered",step="b",state="failed"\} 2$/m);
    assert.match(text, /^capstan_pipeline_step_duration_seconds_bucket\{le="0\.05",pipeline="metered",step="a",state="succeeded"\} 0$/m, 'a slept 0.1 s');
    assert.match(text, /^capstan_pipeline_step_cache_hits_total\{pipeline="metered"\} 1$/m);
  });
});
