/**
 * The framing between the serving host and a Python model worker (decision 0018): each frame is a
 * 4-byte big-endian length, then a 4-byte big-endian header length, the JSON header and the payload.
 * Bodies travel in the payload as bytes, never escaped into JSON.
 */

/** Largest frame accepted from a worker (a runaway output_fn must not exhaust the host's memory). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** One decoded frame. */
export interface Frame {
  header: Record<string, unknown>;
  payload: Buffer;
}

/** Encodes one frame: header as JSON, payload parts appended untouched. */
export function encodeFrame(header: unknown, payload: readonly Buffer[] = []): Buffer {
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const payloadBytes = payload.reduce((n, p) => n + p.length, 0);
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt32BE(4 + head.length + payloadBytes, 0);
  prefix.writeUInt32BE(head.length, 4);
  return Buffer.concat([prefix, head, ...payload], 8 + head.length + payloadBytes);
}

/** Reassembles frames from a byte stream's chunks; throws on a frame larger than `MAX_FRAME_BYTES` or a bad header. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Adds a chunk and returns every frame it completes. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
      this.chunks = [all];
      const size = all.readUInt32BE(0);
      if (size > MAX_FRAME_BYTES || size < 4) throw new Error(`frame of ${size} bytes is out of bounds`);
      if (this.buffered < 4 + size) break;
      const headLength = all.readUInt32BE(4);
      if (headLength > size - 4) throw new Error('frame header is longer than the frame');
      const header = JSON.parse(all.subarray(8, 8 + headLength).toString('utf8')) as Record<string, unknown>;
      frames.push({ header, payload: all.subarray(8 + headLength, 4 + size) });
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    return frames;
  }
}
