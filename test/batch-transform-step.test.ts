import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isCapstanError } from '../src/core/errors.js';
import { parsePipelineYaml } from '../src/pipelines/pipeline-source.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { openBatchFixture, rankingRecord, type BatchFixture } from './batch-support.js';
import { startPipeline } from './pipelines-support.js';

const step = (exec: { steps: { name: string }[] }, name: string) => exec.steps.find((s) => s.name === name)! as any;

for (const factory of await testDatabases()) {
  describe(`pipeline transform step (${factory.name})`, { skip: factory.skip }, () => {
    let fx: BatchFixture;
    before(async () => {
      fx = await openBatchFixture(factory);
    });
    after(async () => fx?.dispose());

    const yaml = (name: string, output: string, extra = '') => `name: ${name}
code: code
parameters:
  input: { type: string }
steps:
  - name: score
    type: transform
    model: ncf
    alias: champion
    input: \${params.input}
    output: ${output}
    config: { joinSource: Input, recordsPerShard: 4, outputFilter: "$['n','SageMakerOutput']"${extra} }
  - name: after
    type: function
    module: count.mjs
    args: { records: "\${steps.score.properties.records}", output: "\${steps.score.properties.output}" }
`;

    it('runs a batch job from YAML with references and exposes its result as properties', async () => {
      const { mkdirSync, writeFileSync } = await import('node:fs');
      mkdirSync(`${fx.test.home}/code`, { recursive: true });
      writeFileSync(`${fx.test.home}/code/count.mjs`, 'export function handler(event) { return { seen: event.args.records, output: event.args.output }; }\n');
      const lines = Array.from({ length: 10 }, (_, i) => rankingRecord(fx.fixture, i, 4, { n: i }));
      const input = await fx.put('pl/in/part-0.jsonl', lines.join('\n'));
      const output = fx.test.platform.artifacts.uriFor('pl/out');
      const { done } = await startPipeline(fx.test.platform.pipelines, yaml('scores', output), fx.test.home, { input });
      const exec = await done;
      assert.equal(exec.state, 'succeeded', JSON.stringify(step(exec, 'score').error));
      const props = step(exec, 'score').properties;
      assert.equal(props.state, 'Completed');
      assert.equal(props.records, 10);
      assert.equal(props.failed, 0);
      assert.deepEqual(step(exec, 'after').properties, { seen: 10, output });
      const out = (await fx.read(`${output}/part-0.jsonl.out`)).trimEnd().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(out.map((o) => o.n), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(out[3].SageMakerOutput.items.length, 4);
    });

    it('fails the step when the job ends Failed', async () => {
      const input = await fx.put('pl/bad/rows.jsonl', 'not json\nnor this\n');
      const { done } = await startPipeline(fx.test.platform.pipelines, yaml('scores-bad', fx.test.platform.artifacts.uriFor('pl/bad-out')), fx.test.home, { input });
      const exec = await done;
      assert.equal(exec.state, 'failed');
      assert.equal(step(exec, 'score').error.code, 'CAPSTAN_BATCH_JOB_FAILED');
      assert.match(step(exec, 'score').error.message, /2 of 2 records failed/);
    });

    it('refuses a transform step without exactly one of version or alias', async () => {
      const text = yaml('scores-invalid', 's3://x/y').replace('    alias: champion\n', '');
      await assert.rejects(fx.test.platform.pipelines.apply(parsePipelineYaml(text, 'p.yaml', fx.test.home)), (err) => isCapstanError(err) && err.code === 'CAPSTAN_PIPELINE_INVALID' && /a transform step needs exactly one of "version" or "alias"/.test(err.message));
    });
  });
}
