import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import type { BatchContext } from '../src/batch/index.js';
import { pollUntil } from '../src/core/test-support/poll-until.js';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { openBatchFixture, rankingRecord, type BatchFixture } from './batch-support.js';

// With notifications.natsJetStream, notifications are JetStream publishes with the event id as message
// id, so a stream holds one message per event however often the outbox delivers it.
const sqlite = (await testDatabases()).find((f) => f.name === 'sqlite')!;

describe('notifications through NATS JetStream', () => {
  let fx: BatchFixture;
  let nc: NatsConnection;
  const tag = randomBytes(4).toString('hex');
  const stream = `CAPSTAN_TEST_${tag}`;
  const subject = `capstan.js${tag}.ranker`;

  before(async () => {
    nc = await connect({ servers: '127.0.0.1:4222' });
    await (await nc.jetstreamManager()).streams.add({ name: stream, subjects: [`capstan.js${tag}.>`] });
    fx = await openBatchFixture(sqlite, undefined, { 'notifications.natsJetStream': true });
    await fx.test.platform.serving.create('ranker', { variants: [{ model: 'models:/ncf@champion' }] });
    await fx.test.platform.outbox.start();
  });
  after(async () => {
    await fx?.test.platform.outbox.stop();
    await fx?.dispose();
    await (await nc?.jetstreamManager())?.streams.delete(stream).catch(() => {});
    await nc?.drain();
  });

  it('stores one message per event in the stream, with the event id as Nats-Msg-Id', async () => {
    const async = fx.test.platform.context<BatchContext>('batch').async;
    await async.configure('ranker', { notification: { natsSubject: subject } });
    const accepted = await async.invoke('ranker', { body: rankingRecord(fx.fixture, 2) });
    const stop = await fx.work(['async']);
    try {
      await pollUntil('the request to complete', async () => ((await async.get(accepted.id)).state === 'Completed' ? true : undefined));
    } finally {
      await stop();
    }
    const jsm = await nc.jetstreamManager();
    await pollUntil('the message in the stream', async () => ((await jsm.streams.info(stream)).state.messages >= 1 ? true : undefined));
    const msg = await jsm.streams.getMessage(stream, { seq: 1 });
    const doc = msg.json<{ id: string; type: string; data: { id: string } }>();
    assert.equal(doc.type, 'async_invocation.succeeded');
    assert.equal(doc.data.id, accepted.id);
    assert.equal(msg.header.get('Nats-Msg-Id'), doc.id);
    // A second delivery of the same event (the outbox delivers at least once) is dropped by the stream.
    const again = await nc.jetstream().publish(subject, msg.data, { msgID: doc.id });
    assert.equal(again.duplicate, true);
    assert.equal((await jsm.streams.info(stream)).state.messages, 1);
  });
});
