import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import type { CapstanConfig } from './config.js';
import { CapstanError } from './errors.js';

/** The outbound settings from `CapstanConfig['outbound']`. */
export type OutboundSettings = CapstanConfig['outbound'];

/** Why an address is not a public unicast address, or `public`. */
export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'unspecified' | 'multicast' | 'reserved';

/** Resolves a host name to its addresses; injectable so tests need no DNS. */
export type HostResolver = (host: string) => Promise<{ address: string; family: number }[]>;

/** Test seams for `assertOutboundUrl`. */
export interface OutboundCheckOptions {
  /** Default: `dns.lookup(host, { all: true })`. */
  resolve?: HostResolver;
  /** What the URL is for, named in error messages; default `URL`. */
  purpose?: string;
}

/** The result of a passed check: the parsed URL and the addresses it resolved to. */
export interface OutboundTarget {
  url: URL;
  addresses: string[];
  /** True when allowPrivate or allowHosts let a non-public address through. */
  allowedByConfig: boolean;
}

/** Cloud instance-metadata services; refused even with `allowPrivate` (only `allowHosts` lets them through). */
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2:0:0:0:0:0:254', '100.100.100.200']);

const defaultResolve: HostResolver = (host) => dnsLookup(host, { all: true, verbatim: true });

function parseIPv4(ip: string): number[] | undefined {
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

function classifyIPv4([a, b, c, d]: number[]): AddressClass {
  const dotted = `${a}.${b}.${c}.${d}`;
  if (METADATA_ADDRESSES.has(dotted)) return 'metadata';
  if (a === 0) return 'unspecified';
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  // Carrier-grade NAT space is routable only inside a provider network, like RFC 1918 space.
  if (a === 100 && b >= 64 && b <= 127) return 'private';
  if (a === 169 && b === 254) return 'link-local';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved';
  if ((a === 192 && b === 0 && c === 0) || (a === 198 && (b === 18 || b === 19))) return 'reserved';
  return 'public';
}

function classifyIPv6(bytes: number[]): AddressClass {
  const words = Array.from({ length: 8 }, (_, i) => bytes[2 * i] * 256 + bytes[2 * i + 1]);
  const hex = words.map((w) => w.toString(16)).join(':');
  if (METADATA_ADDRESSES.has(hex)) return 'metadata';
  const zeroUpTo = (n: number) => words.slice(0, n).every((w) => w === 0);
  if (zeroUpTo(8)) return 'unspecified';
  if (zeroUpTo(7) && words[7] === 1) return 'loopback';
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4
  // (2002:aabb:ccdd::) carry an IPv4 address that decides where the packet really goes.
  if (zeroUpTo(5) && (words[5] === 0xffff || words[5] === 0)) return classifyIPv4(bytes.slice(12));
  if (words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0)) return classifyIPv4(bytes.slice(12));
  if (words[0] === 0x2002) return classifyIPv4(bytes.slice(2, 6));
  if ((words[0] & 0xfe00) === 0xfc00) return 'private';
  if ((words[0] & 0xffc0) === 0xfe80) return 'link-local';
  if ((words[0] & 0xffc0) === 0xfec0) return 'private';
  if ((words[0] & 0xff00) === 0xff00) return 'multicast';
  if (words[0] === 0x2001 && words[1] === 0xdb8) return 'reserved';
  return 'public';
}

/** Classifies an IP address literal; anything that does not parse counts as `reserved`. */
export function classifyAddress(address: string): AddressClass {
  const v4 = parseIPv4(address);
  if (v4) return classifyIPv4(v4);
  const v6 = parseIPv6(address);
  return v6 ? classifyIPv6(v6) : 'reserved';
}

function defaultPort(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

/** True when `allowHosts` names this URL's host, with or without its port (`host`, `host:port`, `[v6]:port`). */
export function hostAllowed(url: URL, allowHosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  const port = defaultPort(url);
  return allowHosts.some((entry) => {
    const e = entry.trim().toLowerCase();
    return e === host || e === `${host}:${port}` || (host.startsWith('[') && e === host.slice(1, -1));
  });
}

function refuse(code: 'CAPSTAN_OUTBOUND_URL_INVALID' | 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED' | 'CAPSTAN_OUTBOUND_HOST_UNRESOLVED', detail: string, url?: string): CapstanError {
  return new CapstanError(code, detail, { fields: url ? { url } : {} });
}

/** A URL shown in errors without its credentials or query. */
function shown(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Checks an outbound URL (webhooks, external models) before Capstan calls it: http or https only, no
 * credentials, and every address the host resolves to must be public unless `allowPrivate` is set or
 * `allowHosts` names the host. Metadata addresses need `allowHosts` even with `allowPrivate`, because
 * reaching them hands out cloud credentials. DNS can change between this check and the connection,
 * so callers that connect should also use `outboundLookup` (see `createOutboundAgent`).
 */
export async function assertOutboundUrl(raw: string, settings: OutboundSettings, options: OutboundCheckOptions = {}): Promise<OutboundTarget> {
  const purpose = options.purpose ?? 'URL';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('CAPSTAN_OUTBOUND_URL_INVALID', `${purpose} is not a valid absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw refuse('CAPSTAN_OUTBOUND_URL_INVALID', `${purpose} must use http or https, not ${url.protocol.replace(/:$/, '')}`, shown(url));
  }
  if (url.username || url.password) throw refuse('CAPSTAN_OUTBOUND_URL_INVALID', `${purpose} must not carry credentials`, shown(url));
  if (!url.hostname) throw refuse('CAPSTAN_OUTBOUND_URL_INVALID', `${purpose} names no host`);
  const bare = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(bare)) addresses = [bare];
  else {
    try {
      addresses = (await (options.resolve ?? defaultResolve)(bare)).map((a) => a.address);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) throw refuse('CAPSTAN_OUTBOUND_HOST_UNRESOLVED', `the host of the ${purpose} (${url.hostname}) does not resolve`, shown(url));
  }
  const listed = hostAllowed(url, settings.allowHosts);
  let allowedByConfig = false;
  for (const address of addresses) {
    const kind = classifyAddress(address);
    if (kind === 'public') continue;
    if (listed || (settings.allowPrivate && kind !== 'metadata')) {
      allowedByConfig = true;
      continue;
    }
    throw refuse(
      'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED',
      `${purpose} ${shown(url)} resolves to a ${kind} address (${address}); allow it with outbound.allowHosts${kind === 'metadata' ? '' : ' or outbound.allowPrivate'}`,
      shown(url),
    );
  }
  return { url, addresses, allowedByConfig };
}

/**
 * A `net` lookup function that refuses non-public addresses at connection time, closing the gap a
 * DNS rebinding attack would use between `assertOutboundUrl` and the connection. Hosts in
 * `allowHosts` (any port) and, with `allowPrivate`, every non-metadata address pass.
 */
export function outboundLookup(settings: OutboundSettings, resolve: HostResolver = defaultResolve): LookupFunction {
  return (hostname, options, callback) => {
    const wantAll = Boolean((options as { all?: boolean }).all);
    const host = hostname.toLowerCase();
    const listed = settings.allowHosts.some((e) => {
      const entry = e.trim().toLowerCase();
      return entry === host || entry.startsWith(`${host}:`) || entry.startsWith(`[${host}]`);
    });
    const family = (options as { family?: number | string }).family;
    resolve(hostname)
      .then((found) => {
        const usable = found.filter((a) => !family || family === 0 || a.family === Number(String(family).replace('IPv', '')));
        if (usable.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
        for (const a of usable) {
          const kind = classifyAddress(a.address);
          if (kind === 'public' || listed || (settings.allowPrivate && kind !== 'metadata')) continue;
          throw refuse('CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', `${hostname} resolves to a ${kind} address (${a.address})`);
        }
        if (wantAll) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, usable);
        else callback(null, usable[0].address, usable[0].family);
      })
      .catch((err: NodeJS.ErrnoException) => callback(err, '', 0));
  };
}
