import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3ArtifactStore } from '../src/storage/artifacts/s3-artifact-store.js';
import { startS3TestServer, type S3TestServer } from '../src/storage/test-support/s3-test-server.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { artifactArrivals, pipelinesFixture, type PipelinesFixture } from './pipelines-support.js';

const step = (exec: { steps: { name: string }[] }, name: string) => exec.steps.find((s) => s.name === name)! as any;

// The same pipeline behaviour on the S3 protocol as on a directory: step inputs and outputs, the code
// snapshot, caching by content digest and artifact-arrival triggers all go through the store port.
describe('pipelines on an S3 artifact store (s3rver)', () => {
  let s3: S3TestServer;
  let fx: PipelinesFixture;

  before(async () => {
    s3 = await startS3TestServer();
    const bucket = await s3.createBucket();
    const sqlite = (await testDatabases()).find((f) => f.name === 'sqlite')!;
    fx = await pipelinesFixture(sqlite, { artifacts: new S3ArtifactStore({ bucket, prefix: 'capstan', s3: s3.s3 }) });
  });
  after(async () => {
    await fx?.dispose();
    await s3?.dispose();
  });

  const yaml = `name: on-s3
steps:
  - name: produce
    type: processing
    command: [sh, -c, 'echo "a,b" > "$CAPSTAN_OUTPUT_DIR/data/rows.csv"; mkdir -p "$CAPSTAN_OUTPUT_DIR/data/nested"; echo x > "$CAPSTAN_OUTPUT_DIR/data/nested/part"; echo "{\\"n\\": 2}" > "$CAPSTAN_OUTPUT_DIR/report/p.json"']
    outputs: [data, report]
    property_files: [{ name: p, output: report, path: p.json }]
  - name: consume
    type: training
    command: [sh, -c, 'cat "$CAPSTAN_INPUT_DIR/data/rows.csv" "$CAPSTAN_INPUT_DIR/data/nested/part" > "$CAPSTAN_MODEL_DIR/model.txt"; echo "n=$2;"', sh]
    inputs: { data: "\${steps.produce.outputs.data}" }
    hyperparameters: { n: "\${steps.produce.properties.p.n}" }
    metric_definitions: [{ name: n, regex: "n=([0-9]+);" }]
`;

  it('passes outputs to inputs through S3, with s3:// URIs, property files and metrics, and caches a re-run', async () => {
    const first = await fx.run(yaml);
    assert.equal(first.state, 'succeeded', first.error ?? '');
    const data = step(first, 'produce').outputs.data;
    assert.match(data.uri, /^s3:\/\/capstan-test-[0-9a-f]+\/capstan\/pipelines\/on-s3\/executions\/.+\/produce\/attempt-1\/data$/);
    assert.deepEqual(step(first, 'consume').metrics, { n: 2 });
    const model = step(first, 'consume').outputs.model;
    const key = fx.artifacts.keyFor(model.uri);
    assert.equal((await fx.artifacts.get(`${key}/model.txt`)).toString(), 'a,b\nx\n');

    const second = await fx.run(yaml);
    assert.equal(second.state, 'succeeded');
    assert.deepEqual(second.steps.map((s) => [s.name, s.cached]), [['produce', true], ['consume', true]]);
    assert.equal(step(second, 'consume').outputs.model.digest, model.digest);
  });

  it('gives a function step its inputs as local directories, downloaded from S3', async () => {
    mkdirSync(path.join(fx.dir, 'fn'), { recursive: true });
    writeFileSync(
      path.join(fx.dir, 'fn', 'count.mjs'),
      `import { readFileSync } from 'node:fs';
export function handler(event) {
  const rows = readFileSync(event.inputs.data + '/rows.csv', 'utf8').trim().split('\\n');
  const part = readFileSync(event.inputs.data + '/nested/part', 'utf8').trim();
  return { rows: rows.length, part, uri: event.args.uri };
}
`,
    );
    const exec = await fx.run(yaml.replace('name: on-s3', 'name: fn-on-s3\ncode: fn') + `  - name: count
    type: function
    module: count.mjs
    inputs: { data: "\${steps.produce.outputs.data}" }
    args: { uri: "\${steps.produce.outputs.data}" }
`);
    assert.equal(exec.state, 'succeeded', JSON.stringify(step(exec, 'count').error));
    const props = step(exec, 'count').properties;
    assert.deepEqual([props.rows, props.part], [1, 'x']);
    assert.match(props.uri, /^s3:\/\//, 'args still carry the URI');
  });

  it('refuses a step output holding a symlink before uploading anything', async () => {
    const exec = await fx.run(`name: link-on-s3
steps:
  - name: s
    type: processing
    cache: false
    command: [sh, -c, 'echo ok > "$CAPSTAN_OUTPUT_DIR/o/fine"; ln -s /etc/passwd "$CAPSTAN_OUTPUT_DIR/o/link"']
    outputs: [o]
`);
    assert.equal(exec.state, 'failed');
    assert.equal(step(exec, 's').error.code, 'CAPSTAN_ARTIFACT_UNSAFE_PATH');
    assert.deepEqual(await fx.artifacts.list('pipelines/link-on-s3/'), [], 'nothing of the refused output was written');
  });

  it('starts one execution per new object under an S3 prefix, even one written in the same second as the trigger, also after a watcher restart', () => artifactArrivals(fx));
});
