import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import { CapstanError } from '../../core/errors.js';

/** Where `npm run build` writes the console (from both src/server/console and dist/server/console). */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../dist/console/', import.meta.url));

/**
 * The console's Content-Security-Policy: scripts only from this server (no inline script, no eval), so a
 * name or description that slipped into HTML could not run; inline style attributes stay allowed because
 * the graph library positions nodes with them.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * Sends one console file. Hashed files under `assets/` are cached for a year (their name changes with
 * their content); `index.html` is revalidated every time so a new build is picked up at once. A path with
 * no file extension is a page of the single-page app (a deep link) and gets `index.html`.
 */
export async function sendConsoleFile(reply: FastifyReply, relative: string, root = CONSOLE_DIST): Promise<FastifyReply> {
  const clean = path.posix.normalize(`/${relative}`).slice(1);
  const isPage = clean === '' || path.posix.extname(clean) === '';
  const file = path.join(root, isPage ? 'index.html' : clean);
  if (!file.startsWith(root)) throw new CapstanError('CAPSTAN_ROUTE_NOT_FOUND', 'no such console file');
  let body: Buffer;
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a file');
    body = await readFile(file);
  } catch {
    if (isPage) throw new CapstanError('CAPSTAN_CONSOLE_NOT_BUILT', `the console is not built (no ${path.join(root, 'index.html')}); run npm run build`);
    throw new CapstanError('CAPSTAN_ROUTE_NOT_FOUND', `no console file ${JSON.stringify(clean.slice(0, 200))}`);
  }
  const immutable = clean.startsWith('assets/');
  return reply
    .header('content-type', TYPES[path.extname(file)] ?? 'application/octet-stream')
    .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .send(body);
}
