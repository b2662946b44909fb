import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { pipelinesFixture, type PipelinesFixture } from './pipelines-support.js';

const step = (exec: { steps: { name: string }[] }, name: string) => exec.steps.find((s) => s.name === name)! as any;

for (const factory of await testDatabases()) {
  describe(`pipeline executions on the local executor (${factory.name})`, { skip: factory.skip }, () => {
    let fx: PipelinesFixture;
    before(async () => {
      fx = await pipelinesFixture(factory);
    });
    after(async () => {
      await fx?.dispose();
    });

    it('runs a DAG under the step contract: outputs, inputs, hyperparameters, property files, metrics from logs, conditions', async () => {
      const exec = await fx.run(`name: contract
parameters:
  threshold: { type: number, default: 0.5 }
steps:
  - name: produce
    type: processing
    command: [sh, -c, 'echo "rows=$1 $2"; echo hello > "$CAPSTAN_OUTPUT_DIR/data/part.txt"; echo "{\\"score\\": 0.75}" > "$CAPSTAN_OUTPUT_DIR/report/metrics.json"; echo "loss=0.5;"; echo "loss=0.25;"', sh]
    hyperparameters:
      rows: 7
    outputs: [data, report]
    property_files: [{ name: metrics, output: report, path: metrics.json }]
    metric_definitions:
      - { name: loss, regex: "loss=([0-9.]+);" }
      - { name: never, regex: "NEVER=([0-9]+)" }
  - name: consume
    type: training
    command: [sh, -c, 'cat "$CAPSTAN_INPUT_DIR/data/part.txt"; cat "$CAPSTAN_HYPERPARAMETERS"; cp "$CAPSTAN_INPUT_DIR/data/part.txt" "$CAPSTAN_MODEL_DIR/model.bin"']
    inputs:
      data: \${steps.produce.outputs.data}
    hyperparameters:
      score: \${steps.produce.properties.metrics.score}
  - name: gate
    type: condition
    if: steps.produce.properties.metrics.score >= params.threshold
    then: [good]
    else: [bad]
  - name: good
    type: processing
    command: [sh, -c, 'echo good; echo x > "$CAPSTAN_OUTPUT_DIR/o/x"']
    outputs: [o]
  - name: bad
    type: fail
    message: score too low
`);
      assert.equal(exec.state, 'succeeded', JSON.stringify(exec, null, 1));
      const produce = step(exec, 'produce');
      assert.deepEqual(produce.metrics, { loss: 0.25 });
      assert.deepEqual(produce.properties.metrics, { score: 0.75 });
      assert.equal(produce.warnings.length, 1);
      assert.match(produce.warnings[0], /metric "never".*never matched/);
      assert.match(produce.outputs.data.uri, /^file:\/\/.*\/pipelines\/contract\/executions\/.*\/produce\/attempt-1\/data$/);
      assert.match(produce.outputs.data.digest, /^sha256:[0-9a-f]{64}$/);
      assert.ok(step(exec, 'consume').outputs.model);
      assert.equal(step(exec, 'gate').properties.result, true);
      assert.equal(step(exec, 'good').state, 'succeeded');
      assert.equal(step(exec, 'bad').state, 'skipped');
      const logs = await fx.service.executionLogs(exec.id, { step: 'produce' });
      assert.ok(logs.some((l) => l.line === 'rows=--rows 7'), 'hyperparameters arrive as --name value');
      const consumeLogs = (await fx.service.executionLogs(exec.id, { step: 'consume' })).map((l) => l.line);
      assert.ok(consumeLogs.includes('hello'));
      assert.ok(consumeLogs.some((l) => l.includes('"score": 0.75')));
      // An attempt orphaned by a lost lease (possible on a starved host) cleans up after its abort, a moment later.
      const work = path.join(fx.dir, 'work');
      for (let i = 0; i < 100 && readdirSync(work).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(readdirSync(work), [], 'working directories are removed');
    });

    it('re-running an unchanged pipeline takes every step from the cache; cache: false opts out', async () => {
      const yaml = `name: cached
steps:
  - name: a
    type: processing
    command: [sh, -c, 'date +%s%N > "$CAPSTAN_OUTPUT_DIR/out/t"']
    outputs: [out]
  - name: b
    type: processing
    command: [sh, -c, 'cat "$CAPSTAN_INPUT_DIR/in/t" > "$CAPSTAN_OUTPUT_DIR/out/t"']
    inputs: { in: "\${steps.a.outputs.out}" }
    outputs: [out]
  - name: c
    type: processing
    cache: false
    command: [sh, -c, 'echo run']
`;
      const first = await fx.run(yaml);
      assert.equal(first.state, 'succeeded');
      assert.ok(first.steps.every((s) => !s.cached));
      const second = await fx.run(yaml);
      assert.equal(second.state, 'succeeded');
      assert.equal(step(second, 'a').cached, true);
      assert.equal(step(second, 'a').cachedFrom, first.id);
      assert.equal(step(second, 'b').cached, true);
      assert.equal(step(second, 'a').cacheKey, step(first, 'a').cacheKey);
      assert.match(step(second, 'a').cacheKey, /^sha256:/);
      assert.equal(step(second, 'c').cached, false);
      assert.deepEqual(step(second, 'b').outputs, step(first, 'b').outputs);
    });

    it('passes only declared environment variables', async () => {
      process.env.CAPSTAN_TEST_HOST_SECRET = 'leak';
      try {
        const exec = await fx.run(`name: envs
steps:
  - name: a
    type: processing
    env: { GREETING: hi }
    command: [sh, -c, 'echo "g=$GREETING s=$\${CAPSTAN_TEST_HOST_SECRET:-none}"']
`);
        const lines = (await fx.service.executionLogs(exec.id)).map((l) => l.line);
        assert.ok(lines.includes('g=hi s=none'), lines.join('\n'));
      } finally {
        delete process.env.CAPSTAN_TEST_HOST_SECRET;
      }
    });

    it('runs parallel branches at the same time', async () => {
      const barrier = path.join(fx.dir, 'barrier');
      const wait = (me: string, other: string) => `mkdir -p ${barrier}; touch ${barrier}/${me}; i=0; while [ ! -f ${barrier}/${other} ]; do i=$((i+1)); [ $i -gt 200 ] && exit 3; sleep 0.05; done`;
      const exec = await fx.run(`name: parallel
steps:
  - { name: root, type: processing, command: "true" }
  - { name: left, type: processing, depends_on: [root], cache: false, command: [sh, -c, '${wait('l', 'r')}'] }
  - { name: right, type: processing, depends_on: [root], cache: false, command: [sh, -c, '${wait('r', 'l')}'] }
`);
      assert.equal(exec.state, 'succeeded', 'each branch waits for the other: they can only both succeed when run in parallel');
    });

    for (const [title, yamlStep, code, message] of [
      ['a command that does not exist', `command: [no-such-command-capstan]`, 'CAPSTAN_PIPELINE_COMMAND_NOT_FOUND', /command "no-such-command-capstan" does not exist/],
      ['a non-zero exit', `command: [sh, -c, 'exit 3']`, 'CAPSTAN_PIPELINE_STEP_EXIT', /exited with code 3/],
      ['a declared output the step did not write', `command: "true"\n    outputs: [missing]`, 'CAPSTAN_PIPELINE_OUTPUT_MISSING', /wrote nothing to its declared output "missing"/],
      ['an output holding a symlink', `command: [sh, -c, 'ln -s /etc/passwd "$CAPSTAN_OUTPUT_DIR/o/link"']\n    outputs: [o]`, 'CAPSTAN_ARTIFACT_UNSAFE_PATH', /link/i],
      ['a timeout', `timeout: 300ms\n    command: [sleep, '30']`, 'CAPSTAN_PIPELINE_STEP_TIMEOUT', /ran longer than 300 ms/],
    ] as const) {
      it(`fails the execution with the reason for ${title}`, async () => {
        const exec = await fx.run(`name: bad\nsteps:\n  - name: s\n    type: processing\n    cache: false\n    ${yamlStep}\n  - { name: after, type: processing, command: "true", depends_on: [s] }\n`);
        assert.equal(exec.state, 'failed');
        const s = step(exec, 's');
        assert.equal(s.state, 'failed');
        assert.equal(s.error.code, code, s.error.message);
        assert.match(s.error.message, message);
        assert.match(exec.error!, /step "s" failed/);
        assert.equal(step(exec, 'after').state, 'skipped', 'nothing downstream runs');
      });
    }

    it('a non-zero exit quotes the last lines of the step\'s stderr and points to capstan logs', async () => {
      const exec = await fx.run(`name: noisy
steps:
  - name: s
    type: processing
    cache: false
    command: [sh, -c, 'for i in 1 2 3 4 5 6 7; do echo "err line $i" >&2; done; echo "not on stderr"; exit 2']
`);
      const s = step(exec, 's');
      assert.equal(s.error.code, 'CAPSTAN_PIPELINE_STEP_EXIT');
      assert.equal(s.error.message, `step "s" exited with code 2; last lines of its stderr:\n  err line 3\n  err line 4\n  err line 5\n  err line 6\n  err line 7\n(the whole log: capstan logs ${exec.id} --step s)`);
      assert.match(exec.error!, /err line 7/);
    });

    it('fails with CAPSTAN_PIPELINE_CONDITION_NOT_BOOLEAN when a condition yields a number', async () => {
      const exec = await fx.run(`name: notbool
steps:
  - name: p
    type: evaluation
    command: [sh, -c, 'echo "{\\"v\\": 3}" > "$CAPSTAN_OUTPUT_DIR/e/p.json"']
    outputs: [e]
    property_files: [{ name: p, output: e, path: p.json }]
  - { name: c, type: condition, if: "steps.p.properties.p.v", then: [t] }
  - { name: t, type: fail }
`);
      assert.equal(exec.state, 'failed');
      assert.equal(step(exec, 'c').error.code, 'CAPSTAN_PIPELINE_CONDITION_NOT_BOOLEAN');
      assert.match(step(exec, 'c').error.message, /evaluated to number 3, not a boolean/);
    });

    it('retries with the policy, but not after the do-not-retry exit code', async () => {
      const counter = path.join(fx.dir, 'count');
      const flaky = await fx.run(`name: flaky
steps:
  - name: s
    type: processing
    cache: false
    retry: { attempts: 3, backoff: 10ms }
    command: [sh, -c, 'echo x >> ${counter}; [ $(wc -l < ${counter}) -ge 2 ]']
`);
      assert.equal(flaky.state, 'succeeded');
      assert.equal(step(flaky, 's').attempts, 2);
      const permanent = await fx.run(`name: permanent
steps:
  - name: s
    type: processing
    cache: false
    retry: { attempts: 3, backoff: 10ms }
    command: [sh, -c, 'exit $CAPSTAN_NO_RETRY_EXIT_CODE']
`);
      assert.equal(permanent.state, 'failed');
      assert.equal(step(permanent, 's').attempts, 1);
      assert.match(step(permanent, 's').error.message, /exited with code 86 \(do not retry\)/);
    });

    it('cancels a running execution', async () => {
      const { pipeline } = await fx.service.apply((await import('../src/pipelines/pipeline-source.js')).parsePipelineYaml(`name: cancel-me
steps:
  - { name: long, type: processing, cache: false, command: [sleep, '30'] }
  - { name: next, type: processing, command: "true", depends_on: [long] }
`, 't.yaml', fx.dir));
      const started = await fx.service.start(pipeline.name);
      const done = fx.service.wait(started.id);
      for (let i = 0; i < 200 && step(await fx.service.execution(started.id), 'long').state !== 'running'; i++) await new Promise((r) => setTimeout(r, 50));
      await fx.service.cancel(started.id);
      const exec = await done;
      assert.equal(exec.state, 'cancelled');
      assert.equal(step(exec, 'long').state, 'cancelled');
      assert.equal(step(exec, 'next').state, 'cancelled');
    });
  });
}
