import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import type { CapstanConfig } from './config.js';
import { CapstanError } from './errors.js';
import { classifyAddress, describeClass } from './address-class.js';

export { classifyAddress, parseIPv6, type AddressClass } from './address-class.js';

/** The outbound settings from `CapstanConfig['outbound']`. */
export type OutboundSettings = CapstanConfig['outbound'];

/** Resolves a host name to its addresses; injectable so tests need no DNS. */
export type HostResolver = (host: string) => Promise<{ address: string; family: number }[]>;

/** Test seams for `assertOutboundUrl`. */
export interface OutboundCheckOptions {
  /** Default: `dns.lookup(host, { all: true })`. */
  resolve?: HostResolver;
  /** What the URL is for, named in error messages; default `URL`. */
  purpose?: string;
  /** This machine's own addresses; default: those `os.networkInterfaces()` lists at the check. */
  ownAddresses?: string[];
}

/** The result of a passed check: the parsed URL and the addresses it resolved to. */
export interface OutboundTarget {
  url: URL;
  addresses: string[];
  /** True when allowPrivate or allowHosts let a non-public address through. */
  allowedByConfig: boolean;
}

const defaultResolve: HostResolver = (host) => dnsLookup(host, { all: true, verbatim: true });

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
    const kind = classifyAddress(address, { ownAddresses: options.ownAddresses });
    if (kind === 'public') continue;
    if (listed || (settings.allowPrivate && kind !== 'metadata')) {
      allowedByConfig = true;
      continue;
    }
    throw refuse(
      'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED',
      `${purpose} ${shown(url)} resolves to ${describeClass(kind)} (${address}); allow it with outbound.allowHosts${kind === 'metadata' ? '' : ' or outbound.allowPrivate'}`,
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
export function outboundLookup(settings: OutboundSettings, resolve: HostResolver = defaultResolve, ownAddresses?: string[]): LookupFunction {
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
          const kind = classifyAddress(a.address, { ownAddresses });
          if (kind === 'public' || listed || (settings.allowPrivate && kind !== 'metadata')) continue;
          throw refuse('CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', `${hostname} resolves to ${describeClass(kind)} (${a.address})`);
        }
        if (wantAll) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, usable);
        else callback(null, usable[0].address, usable[0].family);
      })
      .catch((err: NodeJS.ErrnoException) => callback(err, '', 0));
  };
}
