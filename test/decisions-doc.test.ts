import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { capstanShellCommand, cleanEnv } from './support/capstan-cli.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const DOC = path.join(root, 'docs/decisions.md');

/** The first ```sh block after `heading`, as written. */
function shBlockAfter(markdown: string, heading: string): string {
  const from = markdown.indexOf(heading);
  assert.ok(from >= 0, `${heading} is in docs/decisions.md`);
  const m = /```sh\n([\s\S]*?)\n```/.exec(markdown.slice(from));
  assert.ok(m, `${heading} has a sh block`);
  return m[1];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function sh(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// The walk-through from a fresh clone: the block runs as one shell script with `capstan` on the PATH
// (this checkout's CLI from source). Only two things are added around it: the server's port is a free
// one instead of 7070, and the script waits for the server to answer before the next line (as a user
// would) and stops it at the end.
describe('docs/decisions.md walk-through', () => {
  it('runs the transaction-risk commands as written against `capstan up`, with the features from the feature store', { timeout: 10 * 60_000 }, async () => {
    const block = shBlockAfter(readFileSync(DOC, 'utf8'), '## Walk-through: transaction risk');
    const lines = block.split('\n');
    const upAt = lines.findIndex((l) => /^capstan up &/.test(l));
    assert.ok(upAt >= 0, 'the walk-through starts `capstan up &`');
    assert.match(block, /^export CAPSTAN_URL=http:\/\/127\.0\.0\.1:7070\b/m);
    assert.match(block, /^capstan features apply -f examples\/decisions\/customer-features\.yaml$/m);
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'capstan-decisions-doc-'));
    try {
      const clone = path.join(tmp, 'clone');
      mkdirSync(clone);
      symlinkSync(path.join(root, 'examples'), path.join(clone, 'examples'));
      const bin = path.join(tmp, 'bin');
      mkdirSync(bin);
      writeFileSync(path.join(bin, 'capstan'), `#!/bin/sh\nexec ${capstanShellCommand()} "$@"\n`);
      chmodSync(path.join(bin, 'capstan'), 0o755);
      const port = await freePort();
      const wait = `UP=$!; trap 'kill $UP 2>/dev/null; wait $UP' EXIT; until node -e "fetch('http://127.0.0.1:${port}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; do sleep 0.2; done`;
      const script = ['set -e', ...lines.slice(0, upAt + 1), wait, ...lines.slice(upAt + 1)].join('\n').replaceAll('127.0.0.1:7070', `127.0.0.1:${port}`);
      const env = cleanEnv({ PATH: `${bin}:${process.env.PATH}`, CAPSTAN_HOME: path.join(tmp, 'home'), CAPSTAN_PORT: String(port), CAPSTAN_LOG_LEVEL: 'warn' });
      const r = await sh(script, clone, env);
      assert.equal(r.code, 0, `the walk-through failed:\n${r.stderr}\n${r.stdout}`);
      // The output the doc shows: the outcome, the record and the fraud score.
      const m = /^approve *\nrecord (dec_[0-9a-z]+)\noutput \{"fraud_score":0\.\d+\}$/m.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.match(r.stdout, /^customers@1: read 4, wrote 4, unchanged 0/m);
      // The server's own materialization job may have run first: the newest event time is online either way.
      assert.match(r.stdout, /^customers@1: read \d, wrote \d online values; newest event time 2026-11-30T10:00:00\.000Z$/m);
      // `capstan decisions show` (embedded, on the same home once the server has stopped) lists each feature as the online store answered it.
      const show = await sh(`capstan decisions show ${m[1]}`, clone, env);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /customers:avg_amount_30d.*110.*PRESENT.*2026-11-30T08:00:00\.000Z/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
