import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePipelineYaml } from '../pipelines/pipeline-source.js';
import { isCapstanError } from './errors.js';
import { YAML_MAX_BYTES, parseUserYaml } from './user-yaml.js';

const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]'].join('\n');

describe('user YAML limits', () => {
  it('parses an ordinary document with a few aliases', () => {
    assert.deepEqual(parseUserYaml('base: &b {x: 1}\nother: *b\n', 'c.yaml'), { base: { x: 1 }, other: { x: 1 } });
  });

  it('refuses an alias bomb with CAPSTAN_REQUEST_YAML_LIMIT, in the CLI parser and the pipeline parser alike', () => {
    assert.throws(() => parseUserYaml(bomb, 'endpoint.yaml'), (err) => isCapstanError(err, 'CAPSTAN_REQUEST_YAML_LIMIT') && /endpoint\.yaml: .*aliases/.test(err.message));
    assert.throws(() => parsePipelineYaml(bomb, 'pipeline.yaml'), (err) => isCapstanError(err, 'CAPSTAN_REQUEST_YAML_LIMIT'));
  });

  it('refuses a document larger than 1 MiB before parsing it', () => {
    const big = `x: "${'a'.repeat(YAML_MAX_BYTES)}"\n`;
    assert.throws(() => parseUserYaml(big, 'big.yaml'), (err) => isCapstanError(err, 'CAPSTAN_REQUEST_YAML_LIMIT') && err.status === 400 && /at most 1048576/.test(err.message));
    assert.throws(() => parsePipelineYaml(big, 'big.yaml'), (err) => isCapstanError(err, 'CAPSTAN_REQUEST_YAML_LIMIT'));
  });
});
