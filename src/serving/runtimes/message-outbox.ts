import type { Parcel } from './worker-protocol.js';

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
    /** Posts one parcel; called once per turn that queued anything. */
    private readonly post: (parcel: Parcel<M>, messages: M[]) => void,
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
    this.post(messages.length === 1 ? messages[0] : { t: 'batch', messages }, messages);
  };
}

/** The buffers to transfer with `messages`, each once (a buffer listed twice fails the whole post). */
export function transferList<M>(messages: M[], transferables: (message: M) => ArrayBuffer[]): ArrayBuffer[] {
  if (messages.length === 1) return transferables(messages[0]);
  return [...new Set(messages.flatMap(transferables))];
}

/** The messages a parcel carries, in order. */
export function unpack<M>(parcel: Parcel<M>): M[] {
  return isBatch(parcel) ? parcel.messages : [parcel];
}

function isBatch<M>(parcel: Parcel<M>): parcel is { t: 'batch'; messages: M[] } {
  return (parcel as { t?: unknown }).t === 'batch';
}
