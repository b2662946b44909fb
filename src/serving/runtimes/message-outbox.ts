import type { Batch, Parcel } from './worker-protocol.js';

/**
 * Gathers the messages one side of a worker thread sends during one turn of its event loop and posts
 * them as one parcel once the turn's I/O is handled (`setImmediate`): under load many requests arrive
 * per turn, and each postMessage costs a lock, a wake-up of the other thread and an event there.
 * A lone message leaves on its own, unwrapped, as soon as the turn ends.
 */
export class MessageOutbox<M> {
  private messages: M[] = [];
  private scheduled = false;

  constructor(
    /** Posts one parcel with the buffers it moves; called once per turn that queued anything. */
    private readonly post: (parcel: Parcel<M>, transfer: ArrayBuffer[]) => void,
    /** The buffers one message moves to the other thread instead of copying; none by default. */
    private readonly transferables: (message: M) => ArrayBuffer[] = () => [],
  ) {}

  /** Queues a message for the end of this turn. */
  push(message: M): void {
    this.messages.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  /** Posts what is queued now (also what the scheduled flush runs). */
  readonly flush = (): void => {
    this.scheduled = false;
    const messages = this.messages;
    if (messages.length === 0) return;
    this.messages = [];
    if (messages.length === 1) this.post(messages[0], this.transferables(messages[0]));
    // Each buffer once: a buffer listed twice fails the whole post.
    else this.post({ t: 'batch', messages }, [...new Set(messages.flatMap(this.transferables))]);
  };
}

/** The messages a parcel carries, in order. */
export function unpack<M>(parcel: Parcel<M>): M[] {
  return isBatch(parcel) ? parcel.messages : [parcel];
}

function isBatch<M>(parcel: Parcel<M>): parcel is Batch<M> {
  return (parcel as { t?: unknown }).t === 'batch';
}
