import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { LazyRequestLogger } from './lazy-request-logger.js';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  const parent = pino({ level, redact: ['*.password'] }, stream);
  let children = 0;
  const child = parent.child.bind(parent);
  parent.child = ((bindings, options) => {
    children++;
    return child(bindings, options);
  }) as typeof parent.child;
  return { parent, lines, children: () => children };
}

describe('LazyRequestLogger', () => {
  it('makes no child logger for a request that writes nothing, or only below the level', () => {
    const { parent, lines, children } = capture('warn');
    const log = new LazyRequestLogger(parent, { reqId: 'req-1' }, {});
    log.debug({ ms: 3 }, 'request');
    log.info('hello');
    assert.equal(log.level, 'warn');
    assert.equal(log.isLevelEnabled('info'), false);
    assert.equal(children(), 0);
    assert.equal(lines.length, 0);
  });

  it('writes records with the request id once, through one child, redaction included', async () => {
    const { parent, lines, children } = capture('info');
    const log = new LazyRequestLogger(parent, { reqId: 'req-7' }, {});
    log.error({ user: { password: 'hunter2' } }, 'invocation failed');
    log.warn('again');
    await new Promise((r) => setImmediate(r));
    assert.equal(children(), 1);
    assert.deepEqual(lines.map((l) => [l.reqId, l.msg]), [['req-7', 'invocation failed'], ['req-7', 'again']]);
    assert.deepEqual(lines[0].user, { password: '[Redacted]' });
  });

  it('honours a route log level passed by the framework', async () => {
    const { parent, lines } = capture('warn');
    const log = new LazyRequestLogger(parent, { reqId: 'req-2' }, { level: 'debug' });
    assert.equal(log.level, 'debug');
    log.debug('detail');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(lines.map((l) => l.msg), ['detail']);
  });
});
