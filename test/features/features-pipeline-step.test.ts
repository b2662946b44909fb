import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FeatureService } from '../../src/features/index.js';
import { openTestPlatform, type TestPlatform } from '../../src/platform/test-support/test-platform.js';
import { startPipeline } from '../pipelines-support.js';
import { parsePipelineYaml } from '../../src/pipelines/index.js';
import { compilePipeline } from '../../src/pipelines/validate.js';
import { isCapstanError } from '../../src/core/errors.js';
import { DEFINITIONS, txnCsv, writeFile } from './feature-fixtures.js';

describe('pipeline step input features: (a point-in-time training set built before the step runs)', () => {
  let tp: TestPlatform;
  before(async () => {
    tp = await openTestPlatform();
    const features = tp.platform.context<FeatureService>('features');
    await features.apply(DEFINITIONS);
    await features.ingest('txn', { path: writeFile(tp.home, 'txn.csv', txnCsv([['c1', '2024-01-01T10:00:00Z', 10.5, 1], ['c2', '2024-01-01T10:00:00Z', 3, 2]])) });
    await tp.platform.artifacts.put('data/entities.csv', 'customer_id,event_timestamp,label\nc1,2024-01-01T10:30:00Z,1\nc2,2024-01-01T12:00:00Z,0\n');
  });
  after(() => tp.dispose());

  const yaml = `name: with-features
steps:
  - name: prep
    type: processing
    command: [sh, -c, 'cp "$CAPSTAN_INPUT_DIR/training/training-set.csv" "$CAPSTAN_OUTPUT_DIR/data/rows.csv"']
    features:
      channel: training
      entities: data/entities.csv
      features: [txn:amount_sum, txn:txn_count]
      format: csv
    outputs: [data]
  - name: train
    type: training
    command: [sh, -c, 'echo "{\\"name\\":\\"m\\",\\"framework\\":\\"js\\",\\"entry\\":\\"model.mjs\\"}" > "$CAPSTAN_MODEL_DIR/model.json"; echo "export default {}" > "$CAPSTAN_MODEL_DIR/model.mjs"']
    inputs: { data: "\${steps.prep.outputs.data}" }
  - name: register
    type: register-model
    model: txn-model
    model_data: \${steps.train.outputs.model}
`;

  it('gives the step the set as an input channel and records its digest on the step and the model version', async () => {
    const { done } = await startPipeline(tp.platform.pipelines, yaml, tp.home);
    const exec = await done;
    assert.equal(exec.state, 'succeeded', JSON.stringify(exec.steps.map((s) => [s.name, s.state, s.error])));
    const prep = exec.steps.find((s) => s.name === 'prep')!;
    const set = (prep.properties._capstan as { features: Record<string, { digest: string; rows: number; key: string }> }).features.training;
    assert.match(set.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(set.rows, 2);
    const rows = await tp.platform.artifacts.list(`pipelines/with-features/executions/${exec.id}/prep/attempt-1/data/`);
    const text = (await tp.platform.artifacts.get(rows[0].key)).toString();
    // c2's value is 2 h old at 12:00 with a 1 h TTL: null.
    assert.equal(text, 'customer_id,event_timestamp,label,amount_sum,txn_count\nc1,2024-01-01T10:30:00Z,1,10.5,1\nc2,2024-01-01T12:00:00Z,0,,\n');
    const version = await tp.platform.registry.getVersion('txn-model', 1);
    assert.equal(version.lineage.datasetDigests?.['prep.features.training'], set.digest);
    assert.equal(prep.cached, false);
  });

  it('refuses a features: input without features, with a taken channel or an unknown field', () => {
    const step = (features: string) => `name: bad\nsteps:\n  - name: s\n    type: processing\n    command: [true]\n    inputs: { data: a/b.csv }\n    features: ${features}\n`;
    for (const [features, message] of [
      ['{ entities: e.csv, features: [] }', /features\.features: name at least one feature/],
      ['{ entities: e.csv, features: [g:f], channel: data }', /input channel "data" is already used by inputs/],
      ['{ entities: e.csv, features: [g:f], colour: red }', /colour/],
      ['{ features: [g:f] }', /entities/],
    ] as const) {
      assert.throws(() => compilePipeline(parsePipelineYaml(step(features), 'p.yaml')), (err) => isCapstanError(err, 'CAPSTAN_PIPELINE_INVALID') && message.test(err.message), features);
    }
  });
});
