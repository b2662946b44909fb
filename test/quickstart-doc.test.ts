import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../src/core/clock.js';
import { openPlatformAt } from '../src/platform/test-support/test-platform.js';
import { cleanEnv } from './support/capstan-cli.js';
import { docCommands, type DocCommand } from './support/doc-commands.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const DOC = path.join(root, 'docs/quickstart.md');
const BIN = path.join(root, 'bin/capstan.js');

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

interface Running {
  cmd: DocCommand;
  child: ChildProcess;
  stdout: () => string;
  /** The tail of stdout and stderr, for a failure message. */
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Runs one doc command through sh with `npx capstan` meaning this checkout's compiled CLI. A
 * background command is exec'd, so the signal that stops it reaches capstan itself.
 */
function start(cmd: DocCommand, cwd: string, env: Record<string, string>): Running {
  const shell = `${cmd.background ? 'exec ' : ''}${cmd.text.replaceAll('npx capstan', `node ${JSON.stringify(BIN)}`)}`;
  const child = spawn('/bin/sh', ['-c', shell], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { cmd, child, stdout: () => stdout, output: () => `--- stdout\n${stdout.slice(-3000)}\n--- stderr\n${stderr.slice(-3000)}`, exited };
}

/** Kills a command and whatever it started (its process group). */
function kill(r: Running): void {
  try {
    process.kill(-r.child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * No two registered versions come from the same data and hyperparameters: the story trains each
 * model once (an upload that fires the trigger and a manual run of the same thing would train twice).
 */
async function assertEachModelTrainedOnce(home: string): Promise<void> {
  const platform = await openPlatformAt(home);
  try {
    for (const model of await platform.registry.listModels()) {
      const seen = new Map<string, number>();
      for (const v of await platform.registry.listVersions(model.name)) {
        // The dataset parameter may name the same object as a URI or a key; its digest says what was read.
        const params = Object.fromEntries(Object.entries(v.params).filter(([k]) => k !== 'param.dataset'));
        const key = JSON.stringify([params, v.lineage.datasetDigests]);
        assert.ok(!seen.has(key), `${model.name}/${v.version} was trained on the same data with the same hyperparameters as ${model.name}/${seen.get(key)}`);
        seen.set(key, v.version);
      }
    }
  } finally {
    await platform.close();
  }
}

const where = (c: DocCommand) => `\`${c.text}\` (docs/quickstart.md:${c.line})`;

describe('docs/quickstart.md', () => {
  const commands = docCommands(readFileSync(DOC, 'utf8'));

  it('has a story to run: capstan up in the background, then the commands of a second terminal', () => {
    assert.deepEqual(commands.filter((c) => c.background).map((c) => c.text), ['npx capstan up']);
    assert.ok(commands.filter((c) => !c.background).length >= 15, `${commands.length} commands found`);
  });

  it('runs every command of the doc in order on a fresh home, each succeeding', { timeout: 20 * 60_000 }, async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'capstan-quickstart-'));
    // The doc runs from the root of a clone: the examples are there; a home elsewhere proves no command depends on ./.capstan.
    const cwd = path.join(tmp, 'clone');
    mkdirSync(cwd);
    symlinkSync(path.join(root, 'examples'), path.join(cwd, 'examples'));
    const port = await freePort();
    const env = cleanEnv({ CAPSTAN_HOME: path.join(tmp, 'home'), CAPSTAN_PORT: String(port), CAPSTAN_LOG_LEVEL: 'warn' });
    const background: Running[] = [];
    try {
      for (const cmd of commands) {
        const run = start(cmd, cwd, env);
        if (cmd.background) {
          background.push(run);
          // A person waits for `up` to listen before going on; so does the test.
          let ready = false;
          for (let i = 0; i < 600 && !ready; i++) {
            if (run.child.exitCode !== null) break;
            ready = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
            if (!ready) await sleep(200);
          }
          assert.ok(ready, `${where(cmd)} did not start serving:\n${run.output()}`);
          continue;
        }
        const deadline = setTimeout(() => kill(run), 8 * 60_000);
        // A background command that dies makes the rest meaningless (and `logs --follow` would wait): stop there.
        const died = background.map((b) => b.exited.then((code) => ({ died: b, code })));
        const outcome = await Promise.race([run.exited.then((code) => ({ died: undefined, code })), ...died]);
        clearTimeout(deadline);
        if (outcome.died) {
          kill(run);
          assert.fail(`${where(outcome.died.cmd)} exited ${outcome.code} while ${where(cmd)} ran:\n${outcome.died.output()}`);
        }
        assert.equal(outcome.code, 0, `${where(cmd)} failed:\n${run.output()}`);
        const stdout = run.stdout();
        assert.doesNotMatch(stdout, /\[object Object\]/, `${where(cmd)} printed [object Object]:\n${stdout}`);
        if (/\s--json\b/.test(cmd.text)) assert.doesNotThrow(() => JSON.parse(stdout), `${where(cmd)} --json printed no JSON document:\n${stdout}`);
      }
      for (const b of background) {
        b.child.kill('SIGTERM');
        const giveUp = new AbortController();
        const code = await Promise.race([b.exited, sleep(60_000, giveUp.signal).then(() => 'hung' as const, () => 'hung' as const)]);
        giveUp.abort();
        assert.equal(code, 0, `${where(b.cmd)} did not shut down cleanly on SIGTERM:\n${b.output()}`);
      }
      await assertEachModelTrainedOnce(path.join(tmp, 'home'));
    } finally {
      for (const b of background) kill(b);
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
