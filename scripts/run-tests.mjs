#!/usr/bin/env node
// Runs every unit test (src/**/*.test.ts) and integration test (test/**/*.test.ts) with node's test
// runner through tsx. Node 20 has no glob support in --test, so the files are listed here.
// Usage: npm test [-- <file or directory> ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function collect(entry, out) {
  const st = statSync(entry, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isFile()) {
    if (entry.endsWith('.test.ts')) out.push(entry);
    return;
  }
  for (const name of readdirSync(entry).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    collect(path.join(entry, name), out);
  }
}

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['src', 'test'];
const files = [];
for (const r of roots) collect(r, files);
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}`);
  process.exit(1);
}
const concurrency = process.env.CAPSTAN_TEST_CONCURRENCY ?? String(Math.max(2, os.availableParallelism()));
const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } });
process.exit(result.status ?? 1);
