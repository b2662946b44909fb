import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pythonWith } from './python-interpreter.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A bare "origin" repository and a working clone that pushes to it, in a temp directory. */
export interface GitFixture {
  /** Path of the bare repository (what `capstan repos add --url` names). */
  origin: string;
  /** The working clone. */
  work: string;
  dir: string;
  /** Writes files (relative to the clone), commits them and pushes; answers the new commit SHA. */
  push(files: Record<string, string>, message: string): string;
}

function git(cwd: string, args: string[]): string {
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'Ana', GIT_AUTHOR_EMAIL: 'ana@example.com', GIT_COMMITTER_NAME: 'Ana', GIT_COMMITTER_EMAIL: 'ana@example.com' };
  return execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();
}

/** Creates the bare origin (default branch `main`) and a clone of it. */
export function gitFixture(): GitFixture {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-git-'));
  const origin = path.join(dir, 'origin.git');
  const work = path.join(dir, 'work');
  git(dir, ['init', '--quiet', '--bare', '--initial-branch=main', origin]);
  git(dir, ['clone', '--quiet', origin, work]);
  git(work, ['checkout', '--quiet', '-b', 'main']);
  return {
    origin,
    work,
    dir,
    push(files, message) {
      for (const [rel, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
        writeFileSync(path.join(work, rel), text);
      }
      git(work, ['add', '-A']);
      git(work, ['commit', '--quiet', '-m', message]);
      git(work, ['push', '--quiet', 'origin', 'main']);
      return git(work, ['rev-parse', 'HEAD']);
    },
  };
}

/**
 * The fintech team's repository layout: `ml/config.yaml` (a `kind: Pipeline` built from the shipped
 * fraud-python example, with small defaults so runs are quick) beside its preprocessing, training and
 * evaluation scripts.
 */
export function fintechFiles(): Record<string, string> {
  const ex = path.join(root, 'examples', 'fraud-python');
  const config = readFileSync(path.join(ex, 'config.yaml'), 'utf8')
    .replace(/^name: fraud-python$/m, 'kind: Pipeline\nname: fraud-python')
    .replace('rows: { type: integer, default: 20000', 'rows: { type: integer, default: 4000')
    .replace('epochs: { type: integer, default: 300 }', 'epochs: { type: integer, default: 100 }')
    // The steps need scikit-learn, which Debian installs for /usr/bin/python3 rather than the python3 on PATH.
    .replace('python: { type: string, default: python3,', `python: { type: string, default: ${pythonWith(['numpy', 'sklearn']) ?? 'python3'},`)
    .replace(/\ntriggers:\n.*\n?$/s, '\n');
  const out: Record<string, string> = { 'ml/config.yaml': config };
  for (const f of ['preprocessing.py', 'train.py', 'evaluation.py', 'common.py', 'inference.py']) out[`ml/${f}`] = readFileSync(path.join(ex, f), 'utf8');
  return out;
}
