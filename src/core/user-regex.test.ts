import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCapstanError } from './errors.js';
import { compileUserRegex } from './user-regex.js';

describe('user regexes run on a linear-time engine', () => {
  it('matches anywhere in the text and returns the first capture group', () => {
    const re = compileUserRegex('loss=([0-9.]+);');
    assert.equal(re.test('epoch 3 loss=0.25; hr=0.5'), true);
    assert.equal(re.firstGroup('epoch 3 loss=0.25; hr=0.5'), '0.25');
    assert.equal(compileUserRegex('hr').firstGroup('epoch hr=1'), 'hr');
    assert.equal(re.firstGroup('nothing here'), undefined);
  });

  it('finishes a nested quantifier against a long non-matching line (exponential with backtracking)', () => {
    // With JavaScript's engine this input takes about 2^40 steps; RE2 is linear in the line.
    assert.equal(compileUserRegex('^(a+)+$').test(`${'a'.repeat(40)}!`), false);
  });

  it('refuses back-references and look-around with CAPSTAN_REQUEST_REGEX_INVALID (they need backtracking)', () => {
    for (const pattern of ['(a)\\1', 'a(?=b)', '(?<!x)y']) {
      assert.throws(() => compileUserRegex(pattern, 'the search pattern'), (err) => isCapstanError(err, 'CAPSTAN_REQUEST_REGEX_INVALID') && err.status === 400 && /^the search pattern is not a valid RE2 regular expression/.test(err.message), pattern);
    }
  });

  it('refuses a pattern that does not parse with CAPSTAN_REQUEST_REGEX_INVALID', () => {
    assert.throws(() => compileUserRegex('(unclosed'), (err) => isCapstanError(err, 'CAPSTAN_REQUEST_REGEX_INVALID') && /missing closing \)/.test(err.message));
  });
});
