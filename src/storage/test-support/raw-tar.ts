import { writeFileSync } from 'node:fs';

/** One entry of a hand-made tar: any name and type, so tests can build archives tar tools refuse to. */
export interface RawTarEntry {
  name: string;
  /** ustar type flag: '0' file, '1' hard link, '2' symbolic link, '3' char device, '4' block device, '5' directory, '6' FIFO. */
  type?: string;
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

function field(header: Buffer, offset: number, length: number, value: string): void {
  header.write(value, offset, length, 'latin1');
}

function octal(header: Buffer, offset: number, length: number, value: number): void {
  field(header, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

/**
 * Writes a ustar archive with exactly the given names and types. Names longer than 100 bytes are
 * not supported (hostile test names are short).
 */
export function writeRawTar(file: string, entries: readonly RawTarEntry[]): void {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const content = Buffer.from(e.content ?? '');
    const type = e.type ?? '0';
    const header = Buffer.alloc(512);
    if (Buffer.byteLength(e.name) > 100) throw new Error(`raw tar names are limited to 100 bytes: ${e.name}`);
    field(header, 0, 100, e.name);
    octal(header, 100, 8, e.mode ?? (type === '5' ? 0o755 : 0o644));
    octal(header, 108, 8, 0);
    octal(header, 116, 8, 0);
    octal(header, 124, 12, type === '0' ? content.length : 0);
    octal(header, 136, 12, 1_700_000_000);
    field(header, 148, 8, '        ');
    field(header, 156, 1, type);
    field(header, 157, 100, e.linkname ?? '');
    field(header, 257, 6, 'ustar\0');
    field(header, 263, 2, '00');
    let sum = 0;
    for (const byte of header) sum += byte;
    field(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(header);
    if (type === '0' && content.length > 0) {
      blocks.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  writeFileSync(file, Buffer.concat(blocks));
}
