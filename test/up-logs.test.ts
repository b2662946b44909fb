import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CapstanProcess } from './support/capstan-cli.js';

const YAML = `name: logged
steps:
  - { name: a, type: processing, command: "true" }
`;

/** Applies and starts the pipeline through the API of a running `up`. */
async function runPipeline(url: string): Promise<string> {
  const applied = await fetch(`${url}/api/v1/pipelines`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ yaml: YAML }) });
  assert.equal(applied.status, 200, await applied.clone().text());
  const started = await fetch(`${url}/api/v1/pipelines/logged/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(started.status, 201);
  return ((await started.json()) as { id: string }).id;
}

// The process log of `capstan up`: JSON lines for collectors, human-readable lines when asked (and by
// default on a terminal), with one line as an execution starts and one as it ends.
describe('capstan up logs', () => {
  let dir: string;
  const processes: CapstanProcess[] = [];
  const up = async (format: string) => {
    const p = new CapstanProcess(['up', '--port', '0', '--json', '--log-format', format], { cwd: dir, env: { CAPSTAN_HOME: path.join(dir, format) } });
    processes.push(p);
    const info = await p.until('up to listen', (u) => u.documents().find((d) => d.url));
    return { p, url: info.url as string };
  };
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'capstan-up-logs-'));
  });
  after(async () => {
    for (const p of processes) p.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  it('--log-format json writes JSON lines, including one when an execution starts and one when it succeeds', async () => {
    const { p, url } = await up('json');
    const id = await runPipeline(url);
    const records = () => p.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; executionId?: string; state?: string });
    const ended = await p.until('the execution end line', () => records().find((r) => r.executionId === id && r.msg.startsWith('pipeline execution succeeded')));
    assert.equal(ended.state, 'succeeded');
    assert.ok(records().some((r) => r.executionId === id && r.msg === `pipeline execution started: logged ${id}`));
    assert.ok(records().some((r) => r.msg === 'Capstan listening'));
  });

  it('--log-format pretty writes human-readable lines, with the execution start and end', async () => {
    const { p, url } = await up('pretty');
    const id = await runPipeline(url);
    await p.until('the execution end line', () => (p.stderr.includes(`pipeline execution succeeded: logged ${id}`) ? true : undefined));
    const lines = p.stderr.split('\n').filter(Boolean);
    assert.ok(lines.every((l) => !l.startsWith('{')), p.stderr);
    assert.ok(lines.some((l) => /^\d\d:\d\d:\d\d\.\d{3} INFO {2}Capstan listening url=http:\/\/127\.0\.0\.1:\d+ /.test(l)), p.stderr);
    assert.ok(lines.some((l) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  pipeline execution started: logged ${id} executionId=${id} pipeline=logged`).test(l)), p.stderr);
  });
});
