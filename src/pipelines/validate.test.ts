import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCapstanError } from '../core/errors.js';
import { pipeline, ref } from './builder.js';
import { parsePipelineYaml, type ValidationIssue } from './pipeline-source.js';
import { compilePipeline } from './validate.js';

function issuesOf(yaml: string): ValidationIssue[] {
  try {
    compilePipeline(parsePipelineYaml(yaml, 'p.yaml'));
  } catch (err) {
    assert.ok(isCapstanError(err, 'CAPSTAN_PIPELINE_INVALID'), String(err));
    return err.fields.issues as ValidationIssue[];
  }
  assert.fail('expected CAPSTAN_PIPELINE_INVALID');
}

const GOOD = `name: fraud
parameters:
  auc_threshold: { type: number, default: 0.8 }
  rows: { type: integer, default: 100 }
steps:
  - name: prep
    type: processing
    command: python3 prep.py
    outputs: [train]
    hyperparameters:
      rows: \${params.rows}
  - name: train
    type: training
    command: [python3, train.py]
    inputs:
      train: \${steps.prep.outputs.train}
    metric_definitions: [{ name: loss, regex: "loss=([0-9.]+)" }]
  - name: evaluate
    type: evaluation
    command: python3 eval.py
    inputs:
      model: "\${steps.train.outputs.model}"
    outputs: [evaluation]
    property_files: [{ name: metrics, output: evaluation, path: metrics.json }]
  - name: check
    type: condition
    if: steps.evaluate.properties.metrics.auc >= params.auc_threshold
    then: [register]
    else: [too-low]
  - name: register
    type: register-model
    model: fraud
    model_data: \${steps.train.outputs.model}
  - name: too-low
    type: fail
    message: "AUC \${steps.evaluate.properties.metrics.auc} is below \${params.auc_threshold}"
`;

describe('pipeline validation', () => {
  it('compiles a valid definition with defaults filled in', () => {
    const def = compilePipeline(parsePipelineYaml(GOOD, 'p.yaml'));
    assert.equal(def.steps.length, 6);
    const train = def.steps[1];
    assert.equal(train.type, 'training');
    assert.equal(train.cache, true);
    assert.deepEqual(train.retry.attempts, 1);
    assert.deepEqual(def.parameters.rows, { type: 'integer', default: 100 });
  });

  it('reports malformed YAML with its line', () => {
    const issues = issuesOf('name: x\nsteps:\n  - name: a\n    type: [unclosed\n');
    assert.equal(issues[0].path, '(yaml)');
    assert.match(issues[0].message, /malformed YAML/);
    assert.ok(issues[0].line && issues[0].line >= 4);
  });

  it('reports an unknown step type with file, line and path', () => {
    const issues = issuesOf('name: x\nsteps:\n  - name: a\n    type: sagemaker\n');
    assert.equal(issues.length, 1);
    assert.equal(issues[0].file, 'p.yaml');
    assert.equal(issues[0].line, 4);
    assert.equal(issues[0].path, 'steps[0].type');
    assert.match(issues[0].message, /unknown step type "sagemaker"/);
  });

  it('reports a cycle', () => {
    const issues = issuesOf(`name: x
steps:
  - { name: a, type: processing, command: "true", depends_on: [b] }
  - { name: b, type: processing, command: "true", depends_on: [a] }
`);
    assert.equal(issues.length, 1);
    assert.match(issues[0].message, /cycle: (a -> b -> a|b -> a -> b)/);
    assert.ok(issues[0].line === 3 || issues[0].line === 4);
  });

  it('reports an unknown step reference and an undeclared output and parameter', () => {
    const issues = issuesOf(`name: x
steps:
  - name: a
    type: processing
    command: "true"
    outputs: [data]
  - name: b
    type: processing
    command: "true"
    inputs:
      one: \${steps.nope.outputs.data}
      two: \${steps.a.outputs.other}
      three: \${params.missing}
`);
    assert.deepEqual(issues.map((i) => [i.path, i.line]), [['steps[1].inputs.one', 11], ['steps[1].inputs.two', 12], ['steps[1].inputs.three', 13]]);
    assert.match(issues[0].message, /unknown step "nope"/);
    assert.match(issues[1].message, /declares no output "other"/);
    assert.match(issues[2].message, /undeclared parameter "missing"/);
  });

  it('checks a function step\'s inputs like a command step\'s: channel names and the outputs they reference', () => {
    const fn = (inputs: string) => `name: x
code: .
steps:
  - name: a
    type: processing
    command: "true"
    outputs: [data]
  - name: f
    type: function
    module: f.mjs
    inputs:
${inputs}`;
    const badName = issuesOf(fn('      "bad channel": ${steps.a.outputs.data}\n'));
    assert.deepEqual(badName.map((i) => [i.path, i.line]), [['steps[1].inputs.bad channel', 12]]);
    assert.match(badName[0].message, /channel names use letters, digits, _ and -/);
    const badRef = issuesOf(fn('      ok: ${steps.a.outputs.other}\n'));
    assert.deepEqual(badRef.map((i) => [i.path, i.line]), [['steps[1].inputs.ok', 12]]);
    assert.match(badRef[0].message, /declares no output "other"/);
  });

  it('reports a bad CEL expression and a non-boolean condition type', () => {
    const issues = issuesOf(`name: x
steps:
  - { name: a, type: condition, if: "params.x >", then: [b] }
  - { name: c, type: condition, if: "1 + 2", then: [b] }
  - { name: b, type: fail }
`);
    assert.equal(issues[0].path, 'steps[0].if');
    assert.match(issues[0].message, /not a valid CEL expression/);
    assert.equal(issues[1].path, 'steps[1].if');
    assert.match(issues[1].message, /type int; a condition must be a boolean/);
  });

  it('reports a condition that is a declared parameter, a metric or an output rather than a boolean', () => {
    const issues = issuesOf(`name: x
parameters:
  threshold: { type: number, default: 0.5 }
  label: { type: string, default: a }
  enabled: { type: boolean, default: true }
steps:
  - { name: t, type: training, command: "true", outputs: [model] }
  - { name: p, type: condition, if: "params.threshold", then: [f] }
  - { name: m, type: condition, if: "steps.t.metrics.auc", then: [f] }
  - { name: o, type: condition, if: "steps.t.outputs.model", then: [f] }
  - { name: s, type: condition, if: "params.label", then: [f] }
  - { name: f, type: fail }
`);
    assert.deepEqual(issues.map((i) => [i.path, i.line]), [['steps[1].if', 8], ['steps[2].if', 9], ['steps[3].if', 10], ['steps[4].if', 11]]);
    assert.match(issues[0].message, /type double; a condition must be a boolean/);
    assert.match(issues[2].message, /type string; a condition must be a boolean/);
  });

  it('accepts boolean conditions over parameters, metrics and properties, including number-to-literal comparisons', () => {
    const def = compilePipeline(parsePipelineYaml(`name: x
parameters:
  threshold: { type: number, default: 0.5 }
  n: { type: integer, default: 3 }
  enabled: { type: boolean, default: true }
steps:
  - { name: t, type: training, command: "true", outputs: [model] }
  - { name: a, type: condition, if: "params.enabled", then: [f] }
  - { name: b, type: condition, if: "steps.t.metrics.auc >= params.threshold && params.n == 3", then: [f] }
  - { name: c, type: condition, if: "steps.t.properties.approved", then: [f] }
  - { name: f, type: fail }
`, 'x.yaml'));
    assert.equal(def.steps.length, 5);
  });

  it('reports a bad regex, a deploy without version or alias, and a bad cron time zone', () => {
    const issues = issuesOf(`name: x
steps:
  - { name: a, type: training, command: "true", metric_definitions: [{ name: m, regex: "(" }] }
  - { name: d, type: deploy, endpoint: e, model: m }
triggers:
  - { type: cron, schedule: "0 3 * * *", timezone: Mars/Olympus }
`);
    assert.deepEqual(issues.map((i) => i.path), ['steps[0].metric_definitions[0].regex', 'steps[1]', 'triggers[0].timezone']);
  });

  it('reports a metric regex that only a backtracking engine runs (back-reference, look-ahead) at its path', () => {
    const issues = issuesOf(`name: x
steps:
  - { name: a, type: training, command: "true", metric_definitions: [{ name: m, regex: "(a)\\\\1" }, { name: n, regex: "n=(?=[0-9])([0-9]+)" }] }
`);
    assert.deepEqual(issues.map((i) => i.path), ['steps[0].metric_definitions[0].regex', 'steps[0].metric_definitions[1].regex']);
    assert.match(issues[0].message, /is not a valid RE2 regular expression/);
  });

  it('builds the same definition from the TypeScript builder and names <builder> in errors', () => {
    const def = pipeline('chain')
      .parameter('n', { type: 'integer', default: 3 })
      .step({ name: 'a', type: 'processing', command: ['echo', ref.param('n')], outputs: ['out'] })
      .step({ name: 'b', type: 'processing', command: 'true', inputs: { data: ref.output('a', 'out') } })
      .build();
    assert.deepEqual(def.steps.map((s) => s.name), ['a', 'b']);
    assert.throws(
      () => pipeline('bad').step({ name: 'a', type: 'processing', command: 'true', depends_on: ['zzz'] }).build(),
      (err: unknown) => isCapstanError(err, 'CAPSTAN_PIPELINE_INVALID') && /<builder> steps\[0\]\.depends_on: depends on unknown step "zzz"/.test(err.message),
    );
  });
});
