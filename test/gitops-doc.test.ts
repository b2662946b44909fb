import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { runningInCi } from '../src/core/config.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { openPlatformAt } from '../src/platform/test-support/test-platform.js';
import { capstanShellCommand, cleanEnv } from './support/capstan-cli.js';
import { docCommands, type DocCommand } from './support/doc-commands.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const DOC = path.join(root, 'docs/gitops.md');
// `npx capstan` is this checkout's CLI (its current build, else its sources).
const CLI = capstanShellCommand();

const numpy = spawnSync('python3', ['-c', 'import numpy']).status === 0 ? undefined : 'python3 with numpy runs the fraud-python steps';
if (numpy && runningInCi()) throw new Error(`CI=true and ${numpy}`);

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

function run(cmd: DocCommand, cwd: string, env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const shell = `${cmd.background ? 'exec ' : ''}${cmd.text.replaceAll('npx capstan', CLI)}`;
  const child = spawn('/bin/sh', ['-c', shell], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  return { child, exited: new Promise((resolve) => child.on('close', (code) => resolve(code))), output: () => out.slice(-4000) };
}

describe('docs/gitops.md', { skip: numpy }, () => {
  it('runs every command of the fintech flow as written, and the registry shows both versions with their commits', { timeout: 20 * 60_000 }, async () => {
    const commands = docCommands(readFileSync(DOC, 'utf8'));
    assert.deepEqual(commands.filter((c) => c.background).map((c) => c.text), ['npx capstan up']);
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'capstan-gitops-doc-'));
    const cwd = path.join(tmp, 'clone');
    mkdirSync(cwd);
    symlinkSync(path.join(root, 'examples'), path.join(cwd, 'examples'));
    const port = await freePort();
    const home = path.join(tmp, 'home');
    const env = cleanEnv({
      CAPSTAN_HOME: home,
      CAPSTAN_PORT: String(port),
      CAPSTAN_LOG_LEVEL: 'warn',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Ana',
      GIT_AUTHOR_EMAIL: 'ana@example.com',
      GIT_COMMITTER_NAME: 'Ana',
      GIT_COMMITTER_EMAIL: 'ana@example.com',
    });
    const background: ReturnType<typeof run>[] = [];
    try {
      for (const cmd of commands) {
        const r = run(cmd, cwd, env);
        const where = `\`${cmd.text}\` (docs/gitops.md:${cmd.line})`;
        if (cmd.background) {
          background.push(r);
          await pollUntil(`${where} to serve`, () => fetch(`http://127.0.0.1:${port}/healthz`).then((res) => (res.ok ? true : undefined), () => undefined), { deadlineMs: 120_000, intervalMs: 200 });
          continue;
        }
        const code = await r.exited;
        assert.equal(code, 0, `${where} failed:\n${r.output()}`);
      }
      for (const b of background) {
        b.child.kill('SIGTERM');
        assert.equal(await b.exited, 0, `capstan up did not stop cleanly:\n${b.output()}`);
      }
      const platform = await openPlatformAt(home);
      try {
        const versions = await platform.registry.listVersions('fraud-detector');
        const commits = versions.map((v) => v.lineage.commit);
        assert.equal(versions.length, 2, 'one version per push');
        assert.ok(commits.every((c) => /^[0-9a-f]{40}$/.test(c ?? '')) && commits[0] !== commits[1], JSON.stringify(commits));
      } finally {
        await platform.close();
      }
    } finally {
      for (const b of background) {
        try {
          process.kill(-b.child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
