import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CapstanError, errorCatalogue, toCapstanError } from './errors.js';

/** Rows `| CODE | status | title |` of docs/errors.md. */
function documentedCodes(): Map<string, { status: number; title: string }> {
  const md = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, { status: number; title: string }>();
  for (const line of md.split('\n')) {
    const m = /^\|\s*`?(CAPSTAN_[A-Z0-9_]+)`?\s*\|\s*(\d{3})\s*\|\s*(.+?)\s*\|/.exec(line);
    if (m) rows.set(m[1], { status: Number(m[2]), title: m[3] });
  }
  return rows;
}

const srcRoot = fileURLToPath(new URL('..', import.meta.url));

const pythonClientRoot = fileURLToPath(new URL('../../clients/python/capstan', import.meta.url));

/**
 * Source text that can raise an error: every non-test `.ts` file under src/ except the catalogue
 * itself and the OpenAPI listings (which only declare codes), the Python model worker and the Python
 * client (double-quoted codes made single-quoted), with comment lines dropped.
 */
function raisingSource(): string {
  const files = (readdirSync(srcRoot, { recursive: true }) as string[]).filter(
    (f) => (f.endsWith('.ts') || f.endsWith('.py')) && !f.endsWith('.test.ts') && !f.endsWith('.d.ts') && !f.includes('test-support') && f !== path.join('core', 'errors.ts') && !f.startsWith(path.join('server', 'openapi')),
  );
  const python = readdirSync(pythonClientRoot).filter((f) => f.endsWith('.py')).map((f) => path.join(pythonClientRoot, f));
  return [...files.map((f) => path.join(srcRoot, f)), ...python]
    .map((f) => readFileSync(f, 'utf8').replace(/"(CAPSTAN_[A-Z0-9_]+)"/g, "'$1'"))
    .join('\n')
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\*|\/\*\*)/.test(line))
    .join('\n');
}

describe('error catalogue', () => {
  it('has no dead code: the source raises or maps to every catalogue code', () => {
    const source = raisingSource();
    const dead = Object.keys(errorCatalogue).filter((code) => !source.includes(`'${code}'`));
    assert.deepEqual(dead, [], `catalogue codes nothing raises: ${dead.join(', ')}`);
  });

  it('names only catalogue codes in docs/errors.md, the example included', () => {
    const md = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const unknown = [...new Set(md.match(/CAPSTAN_[A-Z0-9_]+/g) ?? [])].filter((code) => !(code in errorCatalogue));
    assert.deepEqual(unknown, []);
  });

  it('lists every code in docs/errors.md with the same status and title, and nothing else', () => {
    const docs = documentedCodes();
    for (const [code, spec] of Object.entries(errorCatalogue)) {
      assert.ok(docs.has(code), `${code} is missing from docs/errors.md`);
      assert.equal(docs.get(code)!.status, spec.status, `${code} status differs in docs/errors.md`);
      assert.equal(docs.get(code)!.title, spec.title, `${code} title differs in docs/errors.md`);
    }
    for (const code of docs.keys()) assert.ok(code in errorCatalogue, `docs/errors.md lists ${code}, which the catalogue does not have`);
  });

  it('names every code CAPSTAN_<AREA>_<WHAT> with a 4xx or 5xx status', () => {
    for (const [code, spec] of Object.entries(errorCatalogue)) {
      assert.match(code, /^CAPSTAN_[A-Z0-9]+(_[A-Z0-9]+)*$/);
      assert.ok(spec.status >= 400 && spec.status < 600, `${code} has status ${spec.status}`);
    }
  });

  it('renders a problem document with code, status, detail and structured fields', () => {
    const err = new CapstanError('CAPSTAN_ARTIFACT_NOT_FOUND', 'no artifact models/x', { fields: { key: 'models/x' } });
    const p = err.toProblem('/api/v1/x');
    assert.equal(p.code, 'CAPSTAN_ARTIFACT_NOT_FOUND');
    assert.equal(p.status, 404);
    assert.equal(p.detail, 'no artifact models/x');
    assert.equal(p.key, 'models/x');
    assert.equal(p.instance, '/api/v1/x');
  });

  it('keeps the problem members when a structured field shares their name', () => {
    const err = new CapstanError('CAPSTAN_SERVING_ENDPOINT_NOT_READY', 'endpoint x is Failed', { fields: { status: 'Failed', code: 'X', detail: 'y', endpoint: 'x' } });
    const p = err.toProblem('/endpoints/x/invocations');
    assert.deepEqual([p.status, p.code, p.detail, p.endpoint], [503, 'CAPSTAN_SERVING_ENDPOINT_NOT_READY', 'endpoint x is Failed', 'x']);
  });

  it('answers Retry-After from a retryAfterSeconds field, rounded up, unless a header says otherwise', () => {
    const fields = { retryAfterSeconds: 0.3 };
    assert.deepEqual(new CapstanError('CAPSTAN_SERVING_COLD_START_QUEUE_FULL', 'wait', { fields }).headers, { 'Retry-After': '1' });
    assert.deepEqual(new CapstanError('CAPSTAN_SERVING_COLD_START_QUEUE_FULL', 'wait', { fields, headers: { 'Retry-After': '7' } }).headers, { 'Retry-After': '7' });
    assert.deepEqual(new CapstanError('CAPSTAN_SERVING_COLD_START_QUEUE_FULL', 'wait', { fields: { retryAfterSeconds: 'soon' } }).headers, {});
  });

  it('hides the message of an unexpected error behind CAPSTAN_INTERNAL', () => {
    const err = toCapstanError(new Error('ENOENT: /secret/path/file'));
    assert.equal(err.code, 'CAPSTAN_INTERNAL');
    assert.equal(err.message, 'Internal error');
    assert.doesNotMatch(JSON.stringify(err.toProblem()), /secret/);
  });
});
