import { networkInterfaces } from 'node:os';

/** Why an address is not a public unicast address, or `public`. */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'unspecified'
  | 'multicast'
  | 'documentation'
  | 'reserved'
  | 'own';

/** Options of `classifyAddress`. */
export interface ClassifyOptions {
  /** This machine's own addresses; default: every address `os.networkInterfaces()` lists now. */
  ownAddresses?: Iterable<string>;
}

interface Block {
  bytes: number[];
  bits: number;
  kind: AddressClass;
}

/** Cloud instance-metadata services; refused even with `allowPrivate` (only `allowHosts` lets them through). */
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2:0:0:0:0:0:254', '100.100.100.200']);

function block(cidr: string, kind: AddressClass): Block {
  const [address, bits] = cidr.split('/');
  const bytes = parseIPv4(address) ?? parseIPv6(address);
  if (!bytes) throw new Error(`bad block ${cidr}`);
  return { bytes, bits: Number(bits), kind };
}

// The IANA IPv4 Special-Purpose Address Registry (RFC 6890 and its updates), plus multicast from the
// IPv4 address space registry. Every entry is non-public for Capstan, including the few the registry
// marks globally reachable (AS112, AMT): nothing Capstan calls lives there, and refusing is the safe side.
const IPV4_BLOCKS: Block[] = [
  block('0.0.0.0/8', 'unspecified'),
  block('10.0.0.0/8', 'private'),
  block('100.64.0.0/10', 'private'), // shared address space (carrier-grade NAT)
  block('127.0.0.0/8', 'loopback'),
  block('169.254.0.0/16', 'link-local'),
  block('172.16.0.0/12', 'private'),
  block('192.0.0.0/24', 'reserved'), // IETF protocol assignments (DS-Lite, NAT64 discovery, ...)
  block('192.0.2.0/24', 'documentation'),
  block('192.31.196.0/24', 'reserved'), // AS112-v4
  block('192.52.193.0/24', 'reserved'), // AMT
  block('192.88.99.0/24', 'reserved'), // deprecated 6to4 relay anycast
  block('192.168.0.0/16', 'private'),
  block('192.175.48.0/24', 'reserved'), // direct delegation AS112
  block('198.18.0.0/15', 'reserved'), // benchmarking
  block('198.51.100.0/24', 'documentation'),
  block('203.0.113.0/24', 'documentation'),
  block('224.0.0.0/4', 'multicast'),
  block('240.0.0.0/4', 'reserved'),
  block('255.255.255.255/32', 'reserved'), // limited broadcast
].sort((a, b) => b.bits - a.bits);

// The IANA IPv6 Special-Purpose Address Registry less the IPv4-embedding prefixes, which
// `classifyIPv6` resolves to their IPv4 address first, plus the address-space blocks outside 2000::/3.
const IPV6_BLOCKS: Block[] = [
  block('100::/64', 'reserved'), // discard-only
  block('100:0:0:1::/64', 'reserved'), // dummy prefix
  block('2001::/23', 'reserved'), // IETF protocol assignments: benchmarking, ORCHID, AMT, AS112, DRIP ...
  block('2001:db8::/32', 'documentation'),
  block('2620:4f:8000::/48', 'reserved'), // direct delegation AS112
  block('3fff::/20', 'documentation'),
  block('5f00::/16', 'reserved'), // SRv6 SIDs
  block('64:ff9b:1::/48', 'private'), // local-use IPv4/IPv6 translation
  block('fc00::/7', 'private'), // unique local
  block('fe80::/10', 'link-local'),
  block('fec0::/10', 'private'), // deprecated site-local
  block('ff00::/8', 'multicast'),
].sort((a, b) => b.bits - a.bits);

function inBlock(bytes: number[], b: Block): boolean {
  if (bytes.length !== b.bytes.length) return false;
  const whole = Math.floor(b.bits / 8);
  for (let i = 0; i < whole; i++) if (bytes[i] !== b.bytes[i]) return false;
  const rest = b.bits % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[whole] & mask) === (b.bytes[whole] & mask);
}

/** The 4 bytes of a dotted-quad IPv4 address, or undefined. */
export function parseIPv4(ip: string): number[] | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
}

/** The 16 bytes of an IPv6 address (with `::` and an embedded dotted quad expanded), or undefined. */
export function parseIPv6(input: string): number[] | undefined {
  let ip = input.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase();
  const lastColon = ip.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  if (ip.slice(lastColon + 1).includes('.')) {
    // An embedded dotted quad (::ffff:1.2.3.4) stands for the last two 16-bit groups.
    const v4 = parseIPv4(ip.slice(lastColon + 1));
    if (!v4) return undefined;
    ip = `${ip.slice(0, lastColon + 1)}${(v4[0] * 256 + v4[1]).toString(16)}:${(v4[2] * 256 + v4[3]).toString(16)}`;
  }
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const group = (s: string) => (s === '' ? [] : s.split(':'));
  const head = group(halves[0]);
  const rest = halves.length === 2 ? group(halves[1]) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const words = [...head, ...new Array<string>(8 - total).fill('0'), ...rest].map((g) => parseInt(g, 16));
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** One spelling per address: dotted quad for IPv4 (also when IPv4-mapped), full hex words for IPv6. */
function canonical(bytes: number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const words = Array.from({ length: 8 }, (_, i) => bytes[2 * i] * 256 + bytes[2 * i + 1]);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return bytes.slice(12).join('.');
  return words.map((w) => w.toString(16)).join(':');
}

function ownSet(own: Iterable<string> | undefined): Set<string> {
  const list = own ?? Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((e) => e.address));
  const set = new Set<string>();
  for (const address of list) {
    const bytes = parseIPv4(address) ?? parseIPv6(address);
    if (bytes) set.add(canonical(bytes));
  }
  return set;
}

function classifyIPv4(bytes: number[], own: Set<string>): AddressClass {
  const key = canonical(bytes);
  if (METADATA_ADDRESSES.has(key)) return 'metadata';
  const kind = IPV4_BLOCKS.find((b) => inBlock(bytes, b))?.kind ?? 'public';
  // A public address of this machine reaches Capstan itself (and whatever listens beside it).
  return kind === 'public' && own.has(key) ? 'own' : kind;
}

/** The worse of two classes: the first that is not public. */
function worst(...kinds: AddressClass[]): AddressClass {
  return kinds.find((k) => k !== 'public') ?? 'public';
}

function classifyIPv6(bytes: number[], own: Set<string>): AddressClass {
  const words = Array.from({ length: 8 }, (_, i) => bytes[2 * i] * 256 + bytes[2 * i + 1]);
  const key = canonical(bytes);
  if (METADATA_ADDRESSES.has(key)) return 'metadata';
  const zero = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  const v4 = (at: number) => classifyIPv4(bytes.slice(at, at + 4), own);
  if (zero(0, 8)) return 'unspecified';
  if (zero(0, 7) && words[7] === 1) return 'loopback';
  // Forms that carry an IPv4 address deciding where the packet really goes: IPv4-mapped
  // (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96), the deprecated IPv4-compatible (::/96),
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
  if (zero(0, 5) && words[5] === 0xffff) return v4(12);
  if (zero(0, 4) && words[4] === 0xffff && words[5] === 0) return v4(12);
  if (zero(0, 6)) return v4(12);
  if (words[0] === 0x64 && words[1] === 0xff9b && zero(2, 6)) return v4(12);
  if (words[0] === 0x2002) return v4(2);
  if (words[0] === 0x2001 && words[1] === 0) {
    // Teredo: the server's IPv4 in bits 32-63, the client's IPv4 inverted in the last 32 bits.
    const client = bytes.slice(12).map((b) => b ^ 0xff);
    return worst(v4(4), classifyIPv4(client, own));
  }
  const kind = IPV6_BLOCKS.find((b) => inBlock(bytes, b))?.kind;
  if (kind) return kind;
  // Only 2000::/3 is allocated as global unicast; the rest of the space is reserved by the IETF.
  if ((bytes[0] & 0xe0) !== 0x20) return 'reserved';
  return own.has(key) ? 'own' : 'public';
}

/** Classifies an IP address literal; anything that does not parse counts as `reserved`. */
export function classifyAddress(address: string, options: ClassifyOptions = {}): AddressClass {
  const v4 = parseIPv4(address);
  const v6 = v4 ? undefined : parseIPv6(address);
  if (!v4 && !v6) return 'reserved';
  const own = ownSet(options.ownAddresses);
  return v4 ? classifyIPv4(v4, own) : classifyIPv6(v6!, own);
}

/** How an error message names an address of this class. */
export function describeClass(kind: AddressClass): string {
  return kind === 'own' ? "one of this machine's own addresses" : `a ${kind} address`;
}
