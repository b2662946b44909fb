import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageOutbox, unpack } from './message-outbox.js';
import type { Parcel } from './worker-protocol.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('MessageOutbox', () => {
  it('posts the messages of one turn as one batch, in order, once the turn ends', async () => {
    const posted: Parcel<number>[] = [];
    const outbox = new MessageOutbox<number>((parcel) => posted.push(parcel));
    outbox.push(1);
    outbox.push(2);
    outbox.push(3);
    assert.equal(posted.length, 0, 'nothing leaves before the turn ends');
    await nextTurn();
    assert.deepEqual(posted, [{ t: 'batch', messages: [1, 2, 3] }]);
    assert.deepEqual(unpack(posted[0]), [1, 2, 3]);
  });

  it('posts a lone message unwrapped, and starts a new parcel in the next turn', async () => {
    const posted: Parcel<{ t: string }>[] = [];
    const outbox = new MessageOutbox<{ t: string }>((parcel) => posted.push(parcel));
    outbox.push({ t: 'a' });
    await nextTurn();
    outbox.push({ t: 'b' });
    await nextTurn();
    assert.deepEqual(posted, [{ t: 'a' }, { t: 'b' }]);
    assert.deepEqual(unpack(posted[1]), [{ t: 'b' }]);
  });

  it('flushes at once when asked, and the scheduled flush then posts nothing more', async () => {
    const posted: Parcel<number>[] = [];
    const outbox = new MessageOutbox<number>((parcel) => posted.push(parcel));
    outbox.push(7);
    outbox.flush();
    await nextTurn();
    assert.deepEqual(posted, [7]);
  });
});

describe('MessageOutbox transfers', () => {
  it('lists a buffer shared by two messages of a parcel once, since a repeated buffer fails the whole post', async () => {
    const shared = new ArrayBuffer(8);
    const own = new ArrayBuffer(8);
    const transfers: ArrayBuffer[][] = [];
    const outbox = new MessageOutbox<{ buffers: ArrayBuffer[] }>((_parcel, transfer) => transfers.push(transfer), (m) => m.buffers);
    outbox.push({ buffers: [shared] });
    outbox.push({ buffers: [shared, own] });
    await nextTurn();
    assert.deepEqual(transfers, [[shared, own]]);
  });
});
