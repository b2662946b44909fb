import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveLogFormat } from './logger.js';
import { formatLogLine } from './pretty-log.js';

describe('log format', () => {
  it('auto is human-readable on a terminal and JSON lines elsewhere; json and pretty are taken as given', () => {
    assert.equal(resolveLogFormat('auto', true), 'pretty');
    assert.equal(resolveLogFormat('auto', false), 'json');
    assert.equal(resolveLogFormat('json', true), 'json');
    assert.equal(resolveLogFormat('pretty', false), 'pretty');
  });

  it('formats a pino record as time, level, message and its own fields, without pid and hostname', () => {
    const time = Date.UTC(2026, 0, 2, 3, 4, 5, 67);
    const line = JSON.stringify({ level: 30, time, pid: 1, hostname: 'h', msg: 'pipeline execution started: fraud exe_1', executionId: 'exe_1', pipeline: 'fraud', note: 'two words' });
    assert.equal(formatLogLine(line), '03:04:05.067 INFO  pipeline execution started: fraud exe_1 executionId=exe_1 pipeline=fraud note="two words"\n');
  });

  it('puts an error message after the message, its stack below at error level, and colours only when asked', () => {
    const rec = { level: 50, time: 0, msg: 'close failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at a (x.js:1:1)\n    at b (y.js:2:2)' } };
    assert.equal(formatLogLine(JSON.stringify(rec)), '00:00:00.000 ERROR close failed: boom\n    at a (x.js:1:1)\n    at b (y.js:2:2)\n');
    assert.equal(formatLogLine(JSON.stringify({ ...rec, level: 40 })), '00:00:00.000 WARN  close failed: boom\n');
    assert.ok(formatLogLine(JSON.stringify(rec), { color: true }).includes('\u001b[31mERROR\u001b[0m'));
  });

  it('passes text that is not a JSON record through unchanged', () => {
    assert.equal(formatLogLine('plain text'), 'plain text\n');
  });
});
