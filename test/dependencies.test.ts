import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// semver comes with npm's own toolchain in node_modules; loaded untyped, only to read engine ranges.
const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean };
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: unknown }; hasInstallScript?: boolean }>;
};
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { allowScripts?: Record<string, boolean> };
const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs the npm that runs the tests (npm_execpath under `npm test`), else the one on PATH. */
function npm(args: string[]) {
  const execpath = process.env.npm_execpath;
  const [cmd, argv] = execpath && /\.[cm]?js$/.test(execpath) ? [process.execPath, [execpath, ...args]] : ['npm', args];
  const r = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `npm ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

describe('dependencies', () => {
  // Node 20.19 is the oldest Node 20 the dev toolchain (eslint, typescript-eslint) accepts; 24 is the newest LTS.
  for (const node of ['20.19.0', '24.0.0']) {
    it(`installs on Node ${node} without an engine warning: every locked package's engines.node admits it`, () => {
      const refusing = Object.entries(lock.packages)
        .filter(([, p]) => typeof p.engines?.node === 'string' && !semver.satisfies(node, p.engines.node as string))
        .map(([where, p]) => `${where.replace(/^.*node_modules\//, '')}@${p.version} (node ${p.engines!.node})`);
      assert.deepEqual(refusing, []);
    });
  }

  it('approves install scripts for better-sqlite3 and esbuild only, and denies onnxruntime-node (its CPU binaries ship in the package)', () => {
    const allow = pkg.allowScripts ?? {};
    assert.deepEqual(Object.keys(allow).filter((name) => allow[name] === true).sort(), ['better-sqlite3', 'esbuild']);
    assert.equal(allow['onnxruntime-node'], false);
    for (const [name, verdict] of Object.entries(allow)) assert.equal(typeof verdict, 'boolean', `allowScripts.${name} must be true or false, not ${JSON.stringify(verdict)}`);
  });

  it('has a verdict in allowScripts for every locked package with an install script, so no install stops on an unreviewed one', () => {
    const withScripts = new Set(
      Object.entries(lock.packages)
        .filter(([where, p]) => where !== '' && p.hasInstallScript)
        .map(([where]) => where.replace(/^.*node_modules\//, '')),
    );
    assert.deepEqual([...withScripts].sort(), Object.keys(pkg.allowScripts ?? {}).sort());
  });

  it('sets no .npmrc key that npm does not know (npm warns on every command about those)', () => {
    const npmrc = readFileSync(new URL('../.npmrc', import.meta.url), 'utf8');
    assert.doesNotMatch(npmrc, /onnxruntime-node-install/);
    const { stderr } = npm(['config', 'get', 'fund']);
    assert.doesNotMatch(stderr, /Unknown project config/);
  });
});
