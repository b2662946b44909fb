import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliJson, cliProblem, runCapstan } from './support/capstan-cli.js';

const GOOD = `name: scored
parameters:
  threshold: { type: number, default: 0.5 }
steps:
  - { name: a, type: processing, command: "true" }
`;

// A definition that cannot be used never replaces the applied one, on every path that applies.
describe('capstan pipeline validate, apply and run -f refuse a bad definition before changing anything', () => {
  let dir: string;
  const capstan = (...args: string[]) => runCapstan(args, { cwd: dir, env: { CAPSTAN_HOME: path.join(dir, 'home'), CAPSTAN_LOG_LEVEL: 'silent' } });
  const file = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    return name;
  };
  const applied = async () => cliJson(await capstan('pipeline', 'describe', 'scored', '--json'));

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-pl-validate-'));
    assert.equal(cliJson(await capstan('pipeline', 'apply', '-f', file('good.yaml', GOOD), '--json')).pipeline.version, 1);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('validate reports a condition that is a number, not a boolean', async () => {
    const bad = file('not-boolean.yaml', `${GOOD}  - { name: check, type: condition, if: "params.threshold", then: [f] }\n  - { name: f, type: fail }\n`);
    const problem = cliProblem(await capstan('pipeline', 'validate', '-f', bad, '--json'));
    assert.equal(problem.code, 'CAPSTAN_PIPELINE_INVALID');
    assert.match(problem.detail, /^not-boolean\.yaml:6:\d+ steps\[1\]\.if: the expression has type double; a condition must be a boolean/);
  });

  it('run -f with a non-boolean condition fails and leaves the applied version and its definition', async () => {
    const before = await applied();
    const bad = file('run-bad.yaml', `${GOOD}  - { name: check, type: condition, if: "params.threshold", then: [f] }\n  - { name: f, type: fail }\n`);
    assert.equal(cliProblem(await capstan('pipeline', 'run', '-f', bad, '--json')).code, 'CAPSTAN_PIPELINE_INVALID');
    assert.equal(cliProblem(await capstan('pipeline', 'apply', '-f', bad, '--json')).code, 'CAPSTAN_PIPELINE_INVALID');
    const now = await applied();
    assert.equal(now.version, before.version);
    assert.deepEqual(now.definition, before.definition);
    assert.equal(now.lastExecution, null, 'nothing was started');
  });

  it('run -f with a parameter the new definition does not accept fails before applying it', async () => {
    const needsParam = file('needs-param.yaml', GOOD.replace('steps:', 'steps:').replace('  threshold: { type: number, default: 0.5 }', '  threshold: { type: number, default: 0.5 }\n  rows: { type: integer }'));
    const problem = cliProblem(await capstan('pipeline', 'run', '-f', needsParam, '--json'));
    assert.equal(problem.code, 'CAPSTAN_PIPELINE_PARAMETER_INVALID');
    const unknown = cliProblem(await capstan('pipeline', 'run', '-f', file('good2.yaml', GOOD.replace('"true"', '"echo changed"')), '-p', 'nope=1', '--json'));
    assert.equal(unknown.code, 'CAPSTAN_PIPELINE_PARAMETER_INVALID');
    const now = await applied();
    assert.equal(now.version, 1);
    assert.equal(now.definition.parameters.rows, undefined);
    assert.equal(now.definition.steps[0].command[0], 'true');
  });

  it('apply with a missing code directory or definition file names the path as given, not ENOENT', async () => {
    const noCode = file('no-code.yaml', GOOD.replace('steps:', 'code: ./src/missing\nsteps:'));
    const problem = cliProblem(await capstan('pipeline', 'apply', '-f', noCode, '--json'));
    assert.equal(problem.code, 'CAPSTAN_PIPELINE_CODE_INVALID');
    assert.equal(problem.detail, 'code directory ./src/missing: does not exist');
    const missing = await capstan('pipeline', 'run', '-f', 'defs/absent.yaml');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'error: cannot read defs/absent.yaml: does not exist (CAPSTAN_PIPELINE_INVALID)\n');
    assert.equal((await applied()).version, 1);
  });
});
