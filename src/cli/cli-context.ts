import type { Command } from 'commander';
import { CapstanError } from '../core/errors.js';
import { compileConfig, type CapstanConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import type { Platform } from '../platform/platform.js';
import { HttpClient } from '../sdk/http-client.js';

/** The global options every command inherits (see `buildProgram`). */
export interface GlobalOptions {
  home?: string;
  databaseUrl?: string;
  artifacts?: string;
  url?: string;
  apiKey?: string;
  config?: string;
  json?: boolean;
}

/** All options of a command merged with the program's global ones (commander keeps them apart). */
export function allOptions<T extends object>(cmd: Command): T & GlobalOptions {
  return cmd.optsWithGlobals() as T & GlobalOptions;
}

/** Resolves the configuration from global flags > env > capstan.yaml > the command's `defaults` > defaults, once per command. */
export function configFrom(cmd: Command, extraFlags: Record<string, unknown> = {}, defaults: Record<string, unknown> = {}): CapstanConfig {
  const o = allOptions(cmd);
  const flags: Record<string, unknown> = { ...extraFlags };
  if (o.home) flags.home = o.home;
  if (o.databaseUrl) flags.databaseUrl = o.databaseUrl;
  if (o.artifacts) flags.artifacts = o.artifacts;
  if (o.url) flags.url = o.url;
  if (o.apiKey) flags.apiKey = o.apiKey;
  return compileConfig({ flags, file: o.config, defaults });
}

/**
 * Opens the embedded platform for a command that works on the metadata DB directly, runs `fn`, and
 * closes it again. Logs stay quiet unless the command runs a long-lived process.
 */
export async function withPlatform<R>(cmd: Command, fn: (platform: Platform) => Promise<R>, extraFlags: Record<string, unknown> = {}): Promise<R> {
  const config = configFrom(cmd, extraFlags);
  // Loaded on demand: the platform pulls in every context (ONNX Runtime, tfjs, …), which `capstan config` or a --url command never needs.
  const { openPlatform } = await import('../platform/platform.js');
  const platform = await openPlatform({ config, logger: silentLogger() });
  try {
    return await fn(platform);
  } finally {
    await platform.close();
  }
}

/** Prints `data` as one JSON document with `--json`, otherwise the human rendering. */
export function printResult(cmd: Command, data: unknown, human: () => string): void {
  if (allOptions(cmd).json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else {
    const text = human();
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

/** Renders rows as an aligned plain-text table. */
export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const cols = columns ?? Object.keys(rows[0]);
  const cell = (v: unknown) => (v == null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

/** How to reach one context's service locally and through the server. */
export interface ServiceAccess<S> {
  /** The service on an embedded platform. */
  local: (platform: Platform) => S;
  /** The typed SDK client implementing the same interface over HTTP. */
  remote: (http: HttpClient) => S;
}

/**
 * Runs `fn` with a context's service: through the SDK when `--url`/`CAPSTAN_URL` is set, otherwise on
 * the embedded platform. Commands written this way work the same in both places.
 */
export async function withService<S, R>(cmd: Command, access: ServiceAccess<S>, fn: (service: S) => Promise<R>): Promise<R> {
  const config = configFrom(cmd);
  if (config.url) return fn(access.remote(new HttpClient({ baseUrl: config.url, apiKey: config.apiKey })));
  return withPlatform(cmd, (platform) => fn(access.local(platform)));
}

/** `k=v k=v`, the one-line rendering of params, tags and metrics; nested maps (a lineage's dataset digests) as `a.b=v`. */
export function keyValues(m: Record<string, unknown>, prefix = ''): string {
  return Object.entries(m)
    .map(([k, v]) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? keyValues(v as Record<string, unknown>, `${prefix}${k}.`) : `${prefix}${k}=${Array.isArray(v) ? v.join(',') : v}`))
    .filter(Boolean)
    .join(' ');
}

/** A commander parser for an integer option within [min, max]; anything else is CAPSTAN_REQUEST_INVALID. */
export function integerOption(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}
