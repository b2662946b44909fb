import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileConfig } from '../src/core/config.js';
import { silentLogger } from '../src/core/logger.js';
import { openPlatform, type Platform } from '../src/platform/platform.js';
import { writeNcfPackage } from '../src/serving/test-support/ncf-package-fixture.js';
import { testDatabases, type TestDatabase } from '../src/storage/test-support/test-databases.js';
import { cleanEnv } from './support/capstan-cli.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/outbox-process.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');

/** One fixture process and the JSON lines it printed. */
class OutboxProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', tsx, FIXTURE, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    this.child.stdout!.on('data', (c: Buffer) => {
      buffer += c.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line.startsWith('{')) this.lines.push(JSON.parse(line));
      }
    });
    this.child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  /** The first printed line with `key`; fails with stderr when the process ends first. */
  async line(key: string): Promise<Record<string, unknown>> {
    return until(`a "${key}" line`, () => {
      const found = this.lines.find((l) => key in l);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) assert.fail(`the process ended (${this.child.exitCode ?? this.child.signalCode}) before printing "${key}":\n${this.stderr}`);
      return undefined;
    });
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** Polls `probe` every 50 ms until it returns a value; fails after a bounded number of tries. */
async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, tries = 2400): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// A real process is SIGKILLed between the commit of a change and the delivery of its event (the
// test-only crash hook, `testing.outboxCrash`, kills it at that point); a restarted process delivers
// the event, and an idempotent subscriber takes its effect exactly once.
for (const factory of await testDatabases()) {
  describe(`event outbox across kill -9 and processes (${factory.name})`, { skip: factory.skip }, () => {
    let home: string;
    let database: TestDatabase;
    let platform: Platform;
    let pkg: string;
    const children: OutboxProcess[] = [];

    before(async () => {
      home = mkdtempSync(path.join(os.tmpdir(), 'capstan-outbox-'));
      database = await factory.create();
      // A real ONNX package, since registration loads the model.
      pkg = writeNcfPackage(path.join(home, 'pkg')).dir;
      // The test's own view of the database; its dispatcher never runs.
      platform = await openPlatform({ config: compileConfig({ flags: { home, databaseUrl: database.url }, env: {}, cwd: home }), logger: silentLogger() });
    });
    after(async () => {
      for (const c of children) c.kill('SIGKILL');
      await Promise.all(children.map((c) => c.exited));
      await platform?.close();
      await database?.dispose();
      rmSync(home, { recursive: true, force: true });
    });

    const start = (args: string[], dir: string, extra: Record<string, string> = {}) => {
      const p = new OutboxProcess(args, { CAPSTAN_HOME: home, CAPSTAN_DATABASE_URL: database.url, CAPSTAN_OUTBOX_LEASE_MS: '1500', CAPSTAN_OUTBOX_POLL_MS: '50', CAPSTAN_QUEUE_BACKOFF_BASE_MS: '0', OUTBOX_TEST_DIR: dir, ...extra });
      children.push(p);
      return p;
    };
    const calls = (dir: string) => (existsSync(path.join(dir, 'calls.log')) ? readFileSync(path.join(dir, 'calls.log'), 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ')) : []);
    const seen = (dir: string) => (existsSync(path.join(dir, 'seen')) ? readdirSync(path.join(dir, 'seen')) : []);
    const delivery = async (eventId: string) => (await platform.outboxStore.deliveries(eventId)).find((d) => d.subscription === 'audit.test');

    it('a process killed after the commit and before delivering loses nothing: the restart delivers the event once', async () => {
      const dir = mkdtempSync(path.join(home, 'before-'));
      const marker = path.join(dir, 'crashed.json');
      const first = start(['serve-raise', pkg], dir, { CAPSTAN_TEST_OUTBOX_CRASH: `before-deliver:${marker}` });
      const ended = await first.exited;
      assert.equal(ended.signal, 'SIGKILL', first.stderr);
      const crash = JSON.parse(readFileSync(marker, 'utf8')) as { eventId: string; subscription: string };
      assert.equal(crash.subscription, 'audit.test');
      const [event] = (await platform.outboxStore.events('model_version.created')).filter((e) => e.id === crash.eventId);
      assert.ok(event, 'the event committed with the version');
      assert.deepEqual((await platform.registry.getVersion('outboxed', event.data.version as number)).version, event.data.version);
      assert.deepEqual(calls(dir), [], 'the subscriber was never called before the kill');
      assert.equal((await delivery(event.id))?.state, 'pending');

      const second = start(['serve'], dir);
      await second.line('ready');
      await until('the restarted process to deliver the event', async () => ((await delivery(event.id))?.state === 'delivered' ? true : undefined));
      second.kill('SIGTERM');
      assert.equal((await second.exited).code, 0, second.stderr);
      assert.deepEqual(seen(dir), [event.id], 'the effect happened once');
      assert.deepEqual(calls(dir).map(([pid, id]) => [Number(pid), id]), [[second.child.pid, event.id]], 'delivered exactly once, by the restarted process');
    });

    it('a process killed after its subscriber ran but before the acknowledgement gets the event again on restart; the idempotent subscriber takes its effect once', async () => {
      const dir = mkdtempSync(path.join(home, 'after-'));
      const marker = path.join(dir, 'crashed.json');
      const first = start(['serve-raise', pkg], dir, { CAPSTAN_TEST_OUTBOX_CRASH: `after-deliver:${marker}` });
      assert.equal((await first.exited).signal, 'SIGKILL', first.stderr);
      const crash = JSON.parse(readFileSync(marker, 'utf8')) as { eventId: string };
      assert.deepEqual(calls(dir).map(([pid, id, attempt]) => [Number(pid), id, attempt]), [[first.child.pid, crash.eventId, '1']]);

      const second = start(['serve'], dir);
      await until('the restarted process to deliver the event again', async () => ((await delivery(crash.eventId))?.state === 'delivered' ? true : undefined));
      second.kill('SIGTERM');
      await second.exited;
      assert.deepEqual(calls(dir).map(([pid, id, attempt]) => [Number(pid), id, attempt]), [[first.child.pid, crash.eventId, '1'], [second.child.pid, crash.eventId, '2']], 'at least once: delivered again after the crash');
      assert.deepEqual(seen(dir), [crash.eventId], 'the idempotent subscriber took the effect once');
      assert.equal((await delivery(crash.eventId))?.attempts, 2);
    });

    it('an event raised by one process reaches the subscriber running in another', async () => {
      const dir = mkdtempSync(path.join(home, 'two-'));
      const server = start(['serve'], dir);
      await server.line('ready');
      const raiser = start(['raise', pkg], dir);
      const { raised } = (await raiser.line('raised')) as { raised: string };
      assert.equal((await raiser.exited).code, 0, raiser.stderr);
      await until('the other process to receive the event', () => (seen(dir).includes(raised) ? true : undefined));
      server.kill('SIGTERM');
      await server.exited;
      assert.ok(calls(dir).some(([pid, id]) => Number(pid) === server.child.pid && id === raised), 'the serving process got the event');
      assert.ok(!calls(dir).some(([pid]) => Number(pid) === raiser.child.pid), 'the raising process ran no subscriber');
    });
  });
}
