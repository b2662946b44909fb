import { after, describe, it } from 'node:test';
import { networkInterfaces } from 'node:os';
import assert from 'node:assert/strict';
import { assertOutboundUrl, classifyAddress, hostAllowed, outboundLookup, parseIPv6, type AddressClass, type HostResolver } from './outbound-guard.js';
import { isCapstanError } from './errors.js';

const closed = { allowPrivate: false, allowHosts: [] as string[] };
const resolveTo = (...addresses: string[]): HostResolver => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

async function refused(url: string, code: string, message: RegExp, settings = closed, resolve?: HostResolver): Promise<void> {
  await assert.rejects(assertOutboundUrl(url, settings, { resolve, purpose: 'webhook URL' }), (err: unknown) => {
    assert.ok(isCapstanError(err), 'a CapstanError');
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

// Every block of the IANA IPv4 and IPv6 special-purpose registries (and multicast), probed at its
// first, an inner and (where the block ends) its last address, plus the IPv4-embedding IPv6 forms.
const probes: [string, AddressClass][] = [
  ['8.8.8.8', 'public'],
  ['93.184.216.34', 'public'],
  ['1.1.1.1', 'public'],
  ['0.0.0.0', 'unspecified'],
  ['0.255.255.255', 'unspecified'],
  ['10.0.0.0', 'private'],
  ['10.1.2.3', 'private'],
  ['10.255.255.255', 'private'],
  ['100.63.255.255', 'public'],
  ['100.64.0.1', 'private'],
  ['100.127.255.255', 'private'],
  ['100.128.0.0', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['169.254.1.1', 'link-local'],
  ['169.254.169.254', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['172.15.255.255', 'public'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.1', 'public'],
  ['192.0.0.0', 'reserved'],
  ['192.0.0.9', 'reserved'],
  ['192.0.0.170', 'reserved'],
  ['192.0.2.0', 'documentation'],
  ['192.0.2.255', 'documentation'],
  ['192.0.3.1', 'public'],
  ['192.31.196.1', 'reserved'],
  ['192.52.193.1', 'reserved'],
  ['192.88.99.1', 'reserved'],
  ['192.168.0.0', 'private'],
  ['192.168.255.255', 'private'],
  ['192.175.48.6', 'reserved'],
  ['198.17.255.255', 'public'],
  ['198.18.0.0', 'reserved'],
  ['198.19.255.255', 'reserved'],
  ['198.20.0.0', 'public'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.255', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.254', 'reserved'],
  ['255.255.255.255', 'reserved'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:192.0.2.1', 'documentation'],
  ['::ffff:8.8.8.8', 'public'],
  ['::ffff:0:127.0.0.1', 'loopback'],
  ['::ffff:0:10.0.0.1', 'private'],
  ['::ffff:0:8.8.8.8', 'public'],
  ['::127.0.0.1', 'loopback'],
  ['::8.8.8.8', 'public'],
  ['64:ff9b::10.0.0.1', 'private'],
  ['64:ff9b::127.0.0.1', 'loopback'],
  ['64:ff9b::8.8.8.8', 'public'],
  ['64:ff9b:1::8.8.8.8', 'private'],
  ['100::1', 'reserved'],
  ['100::1:0:0:1', 'reserved'],
  ['2001::', 'unspecified'], // Teredo with server 0.0.0.0
  ['2001:1::1', 'reserved'],
  ['2001:2::1', 'reserved'],
  ['2001:3::1', 'reserved'],
  ['2001:4:112::1', 'reserved'],
  ['2001:10::1', 'reserved'],
  ['2001:20::1', 'reserved'],
  ['2001:30::1', 'reserved'],
  ['2001:1ff:ffff::1', 'reserved'],
  ['2001:200::1', 'public'],
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'], // Teredo, client 127.0.0.1
  ['2001:0:4136:e378:8000:63bf:f5ff:fffe', 'private'], // Teredo, client 10.0.0.1
  ['2001:0:a00:1:8000:63bf:f7f7:f7f7', 'private'], // Teredo, server 10.0.0.1
  ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'public'], // Teredo, client 8.8.8.8
  ['2001:db8::1', 'documentation'],
  ['2001:db8:ffff::1', 'documentation'],
  ['2002:a00:1::', 'private'],
  ['2002:7f00:1::1', 'loopback'],
  ['2002:c000:201::1', 'documentation'],
  ['2002:808:808::1', 'public'],
  ['2606:4700:4700::1111', 'public'],
  ['2620:4f:8000::1', 'reserved'],
  ['3fff::1', 'documentation'],
  ['3fff:fff::1', 'documentation'],
  ['5f00::1', 'reserved'],
  ['fc00::1', 'private'],
  ['fd12:3456::1', 'private'],
  ['fd00:ec2::254', 'metadata'],
  ['fe80::1', 'link-local'],
  ['febf::1', 'link-local'],
  ['fec0::1', 'private'],
  ['ff02::1', 'multicast'],
  ['ff0e::1', 'multicast'],
  ['4000::1', 'reserved'],
  ['e000::1', 'reserved'],
  ['not-an-ip', 'reserved'],
];
let probesRun = 0;
after(() => console.log(`outbound-guard: ${probesRun} probes`));

describe('outbound address classification', () => {
  for (const [address, kind] of probes) {
    it(`classifies ${address} as ${kind}`, () => {
      probesRun++;
      assert.equal(classifyAddress(address, { ownAddresses: [] }), kind);
    });
  }

  it("classifies this machine's own interface addresses as non-public, also IPv4-embedded", () => {
    const own = ['93.184.216.34', '2606:4700:4700::1111'];
    probesRun += 4;
    assert.equal(classifyAddress('93.184.216.34', { ownAddresses: own }), 'own');
    assert.equal(classifyAddress('::ffff:93.184.216.34', { ownAddresses: own }), 'own');
    assert.equal(classifyAddress('2606:4700:4700:0::1111', { ownAddresses: own }), 'own');
    assert.equal(classifyAddress('93.184.216.35', { ownAddresses: own }), 'public');
  });

  it('reads the own addresses from the network interfaces by default', () => {
    const listed = Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((e) => e.address));
    assert.ok(listed.length > 0);
    for (const address of listed) {
      probesRun++;
      assert.notEqual(classifyAddress(address), 'public', address);
    }
  });

  it('expands IPv6 forms with :: and embedded dotted quads to 16 bytes', () => {
    assert.deepEqual(parseIPv6('::ffff:1.2.3.4'), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    assert.deepEqual(parseIPv6('[fe80::1%eth0]')?.slice(0, 2), [0xfe, 0x80]);
    assert.equal(parseIPv6('1::2::3'), undefined);
    assert.equal(parseIPv6('1:2:3:4:5:6:7:8:9'), undefined);
  });
});

describe('assertOutboundUrl', () => {
  it('accepts an https URL whose host resolves to public addresses only', async () => {
    const target = await assertOutboundUrl('https://hooks.example.com/x', closed, { resolve: resolveTo('93.184.216.34') });
    assert.equal(target.url.hostname, 'hooks.example.com');
    assert.deepEqual(target.addresses, ['93.184.216.34']);
    assert.equal(target.allowedByConfig, false);
  });

  it('refuses schemes other than http and https', async () => {
    await refused('file:///etc/passwd', 'CAPSTAN_OUTBOUND_URL_INVALID', /must use http or https, not file/);
    await refused('gopher://example.com/', 'CAPSTAN_OUTBOUND_URL_INVALID', /must use http or https/);
  });

  it('refuses text that is not an absolute URL, and URLs with credentials', async () => {
    await refused('/relative/path', 'CAPSTAN_OUTBOUND_URL_INVALID', /not a valid absolute URL/);
    await refused('https://user:pw@example.com/', 'CAPSTAN_OUTBOUND_URL_INVALID', /must not carry credentials/);
  });

  it('refuses loopback literals in every spelling the URL parser normalises', async () => {
    for (const url of ['http://127.0.0.1:9000/', 'http://2130706433/', 'http://0x7f.1/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/']) {
      await refused(url, 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /loopback address/);
    }
  });

  it('refuses private, link-local, unspecified and metadata addresses', async () => {
    await refused('http://10.0.0.5/', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /private address \(10\.0\.0\.5\)/);
    await refused('http://[fd00::5]/', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /private address/);
    await refused('http://169.254.10.1/', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /link-local address/);
    await refused('http://[fe80::1]/', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /link-local address/);
    await refused('http://0.0.0.0/', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /unspecified address/);
    await refused('http://169.254.169.254/latest/meta-data/', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /metadata address/);
    await refused('http://[fd00:ec2::254]/', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /metadata address/);
  });

  it('refuses IPv4-translated, documentation and own-address URLs (audit probes)', async () => {
    const probes: [string, RegExp][] = [
      ['http://[::ffff:0:127.0.0.1]:9999/', /loopback address/],
      ['http://192.0.2.10/', /documentation address/],
      ['http://198.51.100.10/', /documentation address/],
      ['http://203.0.113.10/', /documentation address/],
      ['http://[2001:db8::1]/', /documentation address/],
      ['http://[64:ff9b::a9fe:a9fe]/', /metadata address/],
      ['http://[2002:a9fe:a9fe::]/', /metadata address/],
      ['http://192.88.99.1/', /reserved address/],
    ];
    for (const [url, message] of probes) {
      probesRun++;
      await refused(url, 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', message);
    }
    probesRun++;
    await assert.rejects(
      assertOutboundUrl('http://own.example.com/', closed, { resolve: resolveTo('93.184.216.34'), ownAddresses: ['93.184.216.34'] }),
      (err: unknown) => isCapstanError(err, 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED') && /this machine's own addresses \(93\.184\.216\.34\)/.test(err.message),
    );
  });

  it('refuses a host name when any of its addresses is private (not only the first)', async () => {
    await refused('https://mixed.example.com/', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /private address \(192\.168\.0\.9\)/, closed, resolveTo('93.184.216.34', '192.168.0.9'));
  });

  it('resolves real names: localhost is loopback', async () => {
    await refused('http://localhost:8080/hook', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /loopback address/);
  });

  it('answers a distinct code for a host that does not resolve', async () => {
    await refused('https://nowhere.invalid/', 'CAPSTAN_OUTBOUND_HOST_UNRESOLVED', /does not resolve/, closed, async () => {
      throw new Error('ENOTFOUND');
    });
  });

  it('lets private and loopback addresses through with allowPrivate, but never metadata', async () => {
    const open = { allowPrivate: true, allowHosts: [] };
    const target = await assertOutboundUrl('http://127.0.0.1:9000/', open);
    assert.equal(target.allowedByConfig, true);
    await assertOutboundUrl('http://10.0.0.5/', open);
    await refused('http://169.254.169.254/', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /metadata address/, open);
  });

  it('lets a host through when allowHosts names it, with or without the port', async () => {
    assert.equal((await assertOutboundUrl('http://127.0.0.1:9000/', { allowPrivate: false, allowHosts: ['127.0.0.1:9000'] })).allowedByConfig, true);
    await assertOutboundUrl('http://127.0.0.1:1234/', { allowPrivate: false, allowHosts: ['127.0.0.1'] });
    await refused('http://127.0.0.1:9001/', 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED', /loopback/, { allowPrivate: false, allowHosts: ['127.0.0.1:9000'] });
    await assertOutboundUrl('http://169.254.169.254/', { allowPrivate: false, allowHosts: ['169.254.169.254'] });
  });

  it('matches allowHosts with the scheme default port and bracketed IPv6 hosts', () => {
    assert.equal(hostAllowed(new URL('https://hooks.local/'), ['hooks.local:443']), true);
    assert.equal(hostAllowed(new URL('http://hooks.local/'), ['hooks.local:443']), false);
    assert.equal(hostAllowed(new URL('http://[::1]:9000/'), ['[::1]:9000']), true);
  });
});

describe('outboundLookup (connection-time check)', () => {
  const run = (settings: typeof closed, resolve: HostResolver, all = false) =>
    new Promise<unknown>((resolvePromise, reject) => {
      const lookup = outboundLookup(settings, resolve);
      lookup('rebind.example.com', { all } as never, ((err: Error | null, address: unknown) => (err ? reject(err) : resolvePromise(address))) as never);
    });

  it('passes public addresses to the socket', async () => {
    assert.equal(await run(closed, resolveTo('93.184.216.34')), '93.184.216.34');
    assert.deepEqual(await run(closed, resolveTo('93.184.216.34'), true), [{ address: '93.184.216.34', family: 4 }]);
  });

  it('refuses a name that now resolves to a private address (DNS rebinding)', async () => {
    await assert.rejects(run(closed, resolveTo('10.0.0.7')), (err: unknown) => isCapstanError(err, 'CAPSTAN_OUTBOUND_ADDRESS_BLOCKED') && /private address/.test(err.message));
  });

  it('honours allowPrivate and allowHosts', async () => {
    assert.equal(await run({ allowPrivate: true, allowHosts: [] }, resolveTo('10.0.0.7')), '10.0.0.7');
    assert.equal(await run({ allowPrivate: false, allowHosts: ['rebind.example.com:8080'] }, resolveTo('10.0.0.7')), '10.0.0.7');
  });
});
