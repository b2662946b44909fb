import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { killOrphanGroup } from './process-group.js';

const started: ChildProcess[] = [];
after(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function group(env: Record<string, string>): ChildProcess {
  const child = spawn('sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH ?? '', ...env } });
  started.push(child);
  return child;
}

function members(pgid: number): number {
  let n = 0;
  for (const e of readdirSync('/proc')) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) n++;
    } catch {
      // not a process, or gone
    }
  }
  return n;
}

/** Waits until each group has its shell and its sleep. */
async function bothStarted(...children: ChildProcess[]): Promise<void> {
  for (let i = 0; i < 200 && children.some((c) => members(c.pid!) < 2); i++) await new Promise((r) => setTimeout(r, 20));
}

const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once('exit', r)));

// A process group id recorded on an attempt row can belong to someone else by the time a restart reads
// it (ids are reused); only processes that carry the attempt's own environment may be killed.
describe('killing an abandoned attempt\'s process group', { skip: process.platform !== 'linux' ? 'needs /proc' : undefined }, () => {
  it('kills a group whose processes carry the attempt\'s execution id and step, and leaves any other group alone', async () => {
    const other = group({ CAPSTAN_EXECUTION_ID: 'exec_other', CAPSTAN_STEP: 'train' });
    const unrelated = group({});
    const mine = group({ CAPSTAN_EXECUTION_ID: 'exec_1', CAPSTAN_STEP: 'train' });
    await bothStarted(other, unrelated, mine);
    assert.equal(killOrphanGroup(other.pid!, 'exec_1', 'train'), 0);
    assert.equal(killOrphanGroup(unrelated.pid!, 'exec_1', 'train'), 0);
    assert.equal(killOrphanGroup(mine.pid!, 'exec_1', 'train'), 2, 'the shell and its sleep');
    await exited(mine);
    assert.equal(mine.signalCode, 'SIGKILL');
    assert.equal(other.exitCode ?? other.signalCode, null, 'another attempt\'s group still runs');
    assert.equal(unrelated.exitCode ?? unrelated.signalCode, null);
  });

  it('finds the attempt\'s processes by their environment when no group was recorded (killed before storing it)', async () => {
    const other = group({ CAPSTAN_EXECUTION_ID: 'exec_2', CAPSTAN_STEP: 'evaluate' });
    const mine = group({ CAPSTAN_EXECUTION_ID: 'exec_2', CAPSTAN_STEP: 'train' });
    await bothStarted(other, mine);
    assert.equal(killOrphanGroup(null, 'exec_2', 'train'), 2, 'the shell and its sleep');
    await exited(mine);
    assert.equal(mine.signalCode, 'SIGKILL');
    assert.equal(other.exitCode ?? other.signalCode, null, 'another step of the same execution still runs');
  });
});
